package gate

import (
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/gate/stats"
	"github.com/patchgate/patchgate/slo"
)

// renderKey names one rendered SLI query: the expression, its window,
// the matchers added (as selector text) and the factor it is scaled by
// (0: not scaled).
type renderKey struct {
	expr     string
	window   time.Duration
	matchers string
	scale    float64
}

// renders keeps the SLI queries rendered so far: parsing PromQL is most
// of a look's work, and a service's queries repeat look after look. It is
// a cache, bounded, and emptied when full.
type renders struct {
	mu sync.Mutex
	m  map[renderKey]string
}

const maxRenders = 10000

// sli renders expr (without caching on a nil r) with {{.window}} set to
// window and ms added to every series selector, scaled by scale when it is
// not 0. msText is ms as selectorText writes it, which the look computed
// once.
func (r *renders) sli(expr string, window time.Duration, ms []*labels.Matcher, msText string, scale float64) (string, error) {
	key := renderKey{expr: expr, window: window, matchers: msText, scale: scale}
	if r != nil {
		r.mu.Lock()
		q, ok := r.m[key]
		r.mu.Unlock()
		if ok {
			return q, nil
		}
	}
	q, err := slo.Render(expr, window, ms)
	if scale != 0 && err == nil {
		var e parser.Expr
		if e, err = slo.Parse(expr, window); err == nil {
			slo.AddMatchers(e, ms)
			q = slo.Scale(e, scale).String()
		}
	}
	if err != nil {
		return "", err
	}
	if r == nil {
		return q, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil || len(r.m) >= maxRenders {
		r.m = map[renderKey]string{}
	}
	r.m[key] = q
	return q, nil
}

// priorKey names the hour before a stage's window for one baseline.
type priorKey struct {
	service, baseline string
	start             int64 // ms
}

// priors keeps the dispersion prior read from the hour before each stage
// window: that hour does not change, so it is read once, not at every
// look. A cache, bounded, emptied when full; a nil priors keeps nothing.
type priors struct {
	mu sync.Mutex
	m  map[priorKey]stats.Prior
}

func (p *priors) get(k priorKey) (stats.Prior, bool) {
	if p == nil {
		return stats.Prior{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.m[k]
	return v, ok
}

func (p *priors) put(k priorKey, v stats.Prior) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) >= maxRenders {
		p.m = map[priorKey]stats.Prior{}
	}
	p.m[k] = v
}
