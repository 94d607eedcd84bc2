package gate

import (
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
// of a look's work, and a service's queries repeat look after look.
type renders = bounded[renderKey, string]

// renderSLI renders expr with {{.window}} set to window and ms added to
// every series selector, scaled by scale when it is not 0, through the
// cache r (none when nil). msText is ms as selectorText writes it, which
// the look computed once.
func renderSLI(r *renders, expr string, window time.Duration, ms []*labels.Matcher, msText string, scale float64) (string, error) {
	key := renderKey{expr: expr, window: window, matchers: msText, scale: scale}
	if q, ok := r.get(key); ok {
		return q, nil
	}
	var q string
	var err error
	if scale == 0 {
		q, err = slo.Render(expr, window, ms)
	} else {
		var e parser.Expr
		if e, err = slo.Parse(expr, window); err == nil {
			slo.AddMatchers(e, ms)
			q = slo.Scale(e, scale).String()
		}
	}
	if err != nil {
		return "", err
	}
	r.put(key, q)
	return q, nil
}

// priorKey names the hour before a stage's window for one baseline.
type priorKey struct {
	service, baseline string
	start             int64 // ms
}

// priors keeps the dispersion prior read from the hour before each stage
// window: that hour does not change, so it is read once, not at every
// look.
type priors = bounded[priorKey, stats.Prior]
