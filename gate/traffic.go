package gate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/patchgate/patchgate/gate/stats"

	"github.com/patchgate/patchgate/internal/config"
)

// trafficCheck waits until the canary has served enough requests in the
// stage window. Too little traffic is never a failure: it is a wait that
// says how many requests are still needed.
type trafficCheck struct{ cfg config.MinTraffic }

func (trafficCheck) name() string { return "min_traffic" }

func (c trafficCheck) run(ctx context.Context, l *look) CheckResult {
	minutes, queries, err := l.perMinute(ctx, l.k)
	// Of the four per-minute queries, this check reads the canary's
	// requests only: it names no other, even when another failed.
	queries = queries[:min(len(queries), 1)]
	var n float64
	var qe *queryError
	switch {
	case err == nil:
		for _, m := range minutes {
			n += m.CanaryTotal
		}
	case errors.As(err, &qe) && qe.index != 0 && len(queries) == 1 && l.k >= 1:
		// Another check's query failed, not this one's: count from the
		// canary's requests alone.
		counts, err := l.src.rangeOne(ctx, queries[0], l.lookEnd(1), l.lookEnd(l.k), time.Minute)
		if err != nil {
			return sourceError(c.name(), err, queries...)
		}
		for _, v := range counts {
			if finite(v) && v > 0 {
				n += v
			}
		}
		minutes = make([]stats.Minute, l.k)
	default:
		return sourceError(c.name(), err, queries...)
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
