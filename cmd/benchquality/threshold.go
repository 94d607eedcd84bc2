package main

import (
	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/gate/stats"
)

// thresholdAt is a fixed threshold checked once, at minute `at`, on the
// error rates over the stage so far: no_go when the canary's exceeds the
// baseline's by more than margin, else go. A canary that served nothing is
// a no_go (Flagger counts a query without values as a failed check).
func thresholdAt(at int, margin float64) func([]stats.Minute) (gate.Verdict, int) {
	return func(ms []stats.Minute) (gate.Verdict, int) {
		at := min(at, len(ms))
		var nc, kc, nb, kb float64
		for _, m := range ms[:at] {
			nc += m.CanaryTotal
			kc += m.CanaryErrors
			nb += m.BaselineTotal
			kb += m.BaselineErrors
		}
		if nc == 0 || nb == 0 || kc/nc-kb/nb > margin {
			return gate.NoGo, at
		}
		return gate.Go, at
	}
}

// thresholdEveryMinute is an analysis as Flagger and Argo Rollouts run it:
// one measurement a minute of each arm's error rate over that minute (the
// built-in request-success-rate is a rate over the 1m interval); the
// first measurement above the margin is a no_go (Flagger threshold 1, Argo
// failureLimit 0), `passes` passing measurements are a go (iterations,
// count). A minute where an arm served nothing is skipped, counted neither
// way (Flagger would count it as a failed check: this is the generous
// reading).
func thresholdEveryMinute(passes int, margin float64) func([]stats.Minute) (gate.Verdict, int) {
	return func(ms []stats.Minute) (gate.Verdict, int) {
		ok := 0
		for i, m := range ms {
			if m.CanaryTotal == 0 || m.BaselineTotal == 0 {
				continue
			}
			if m.CanaryErrors/m.CanaryTotal-m.BaselineErrors/m.BaselineTotal > margin {
				return gate.NoGo, i + 1
			}
			ok++
			if ok == passes {
				return gate.Go, i + 1
			}
		}
		return gate.Wait, len(ms)
	}
}
