package gate

import (
	"context"
	"fmt"

	"github.com/patchgate/patchgate/internal/config"
)

// trafficCheck waits until the canary has served enough requests in the
// stage window. Too little traffic is never a failure: it is a wait that
// says how many requests are still needed.
type trafficCheck struct{ cfg config.MinTraffic }

func (trafficCheck) name() string { return "min_traffic" }

func (c trafficCheck) run(ctx context.Context, l *look) CheckResult {
	minutes, queries, err := l.perMinute(ctx, l.k)
	if err != nil {
		return sourceError(c.name(), err, queries[:1]...)
	}
	if len(queries) > 0 {
		queries = queries[:1]
	}
	var n float64
	for _, m := range minutes {
		n += m.CanaryTotal
	}
	want := c.cfg.Requests
	r := result(c.name(), Pass, "", queries...)
	r.Observed, r.Threshold, r.Unit = ptr(n), ptr(want), "requests"
	if n < want {
		r.Verdict = Inconclusive
		r.Sentence = fmt.Sprintf("not enough canary traffic: %s of %s requests in %d minute(s) of the stage; %s more needed",
			num(n), num(want), len(minutes), num(want-n))
		return r
	}
	r.Sentence = fmt.Sprintf("the canary served %s requests in %d minute(s), at least the %s required", num(n), len(minutes), num(want))
	return r
}
