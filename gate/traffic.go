package gate

import (
	"context"
	"fmt"
	"time"

	"github.com/patchgate/patchgate/internal/config"
)

// trafficCheck waits until the canary has served enough requests in the
// stage window. Too little traffic is never a failure: it is a wait that
// says how many requests are still needed.
type trafficCheck struct{ cfg config.MinTraffic }

func (trafficCheck) name() string { return "min_traffic" }

func (c trafficCheck) run(ctx context.Context, l *look) CheckResult {
	// The canary's per-minute requests, the first of error_delta's four
	// queries (the look's memo runs it once for both): this check reads
	// and names that one only, so another query failing is not its failure.
	q, err := renderSLI(l.render, l.service.SLI.Total, time.Minute, l.canary, l.canaryText, 60)
	if err != nil {
		return sourceError(c.name(), err)
	}
	var n float64
	if l.k >= 1 {
		counts, err := l.src.rangeOne(ctx, q, l.lookEnd(1), l.lookEnd(l.k), time.Minute)
		if err != nil {
			return sourceError(c.name(), err, q)
		}
		for _, v := range counts {
			if finite(v) && v > 0 {
				n += v
			}
		}
	}
	queries := []string{q}
	want := c.cfg.Requests
	r := result(c.name(), Pass, "", queries...)
	r.Observed, r.Threshold, r.Unit = ptr(n), ptr(want), "requests"
	if n < want {
		r.Verdict = Inconclusive
		r.Sentence = fmt.Sprintf("not enough canary traffic: %s of %s requests in %d minute(s) of the stage; %s more needed",
			num(n), num(want), l.k, num(want-n))
		return r
	}
	r.Sentence = fmt.Sprintf("the canary served %s requests in %d minute(s), at least the %s required", num(n), l.k, num(want))
	return r
}
