package main

import (
	"fmt"
	"math"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/gate/stats"
	"github.com/patchgate/patchgate/internal/config"
)

// latencyJudge is one gate under comparison on the latency families; decide
// sees a stage's bucket counts minute by minute, as judge.decide sees
// error counts.
type latencyJudge struct {
	// name is what the tables print; key is what the tallies know it by
	// (thresholdJudge for the reference of the request ratio).
	name, key, what string
	decide          func(s *latencyStage) (gate.Verdict, int)
}

// latencyDeltaTest is the stats.Test that gate/latency.go builds for the
// policy's latency_delta check on a stage of `looks` planned looks, the
// only sequential check of the stage (so its α is not split). The engine
// cross-check (latency_engine.go) proves the decisions are the engine's.
func latencyDeltaTest(ld config.LatencyDelta, looks int) stats.Test {
	t := stats.Test{Margin: ld.MarginPP / 100, Alpha: ld.Alpha}
	if ld.Method != config.MethodConfidenceSequence {
		t.Looks = looks
	}
	return t
}

func onMinutes(f func([]stats.Minute) (gate.Verdict, int)) func(*latencyStage) (gate.Verdict, int) {
	return func(s *latencyStage) (gate.Verdict, int) { return f(s.minutes) }
}

// latencyJudges returns the gates compared on the latency families,
// patchgate's as configured first.
func latencyJudges(ld config.LatencyDelta) []latencyJudge {
	pocock := ld
	pocock.Method = config.MethodPocock
	cs := ld
	cs.Method = config.MethodConfidenceSequence
	return []latencyJudge{
		{name: "patchgate", key: "patchgate",
			what:   fmt.Sprintf("latency_delta as configured: share slower than %gs (a bucket boundary), margin %gpp, group-sequential over 60 looks (no_go side Pocock-type, go side keeping 70%% of its α for the last looks, as error_delta), α = %g each way, asked every minute", latencyThreshold, ld.MarginPP, ld.Alpha),
			decide: onMinutes(sequential(latencyDeltaTest(pocock, horizon), asIs))},
		{name: "patchgate, confidence sequence", key: "patchgate, confidence sequence",
			what:   "latency_delta with method: confidence_sequence (open-ended)",
			decide: onMinutes(sequential(latencyDeltaTest(cs, horizon), asIs))},
		{name: "p99 threshold at 10m", key: thresholdJudge,
			what:   "Flagger's request-duration check: histogram_quantile(0.99) of the canary's buckets over the first 10 minutes > a fixed limit → no_go, else go; the limit is the p99 a canary at the margin shows (tuned per service, the most favourable setting)",
			decide: p99At(10)},
		{name: "p99 threshold every minute", key: "p99 threshold every minute",
			what:   "the same limit as Flagger runs it: every minute, the canary's p99 over that minute; above the limit once → no_go; 10 passing minutes → go",
			decide: p99EveryMinute(10)},
		{name: "Kayenta Mann-Whitney on p99", key: "Kayenta Mann-Whitney on p99",
			what:   "NetflixACAJudge at minute 10 on the 10 per-minute p99s of each arm: Mann-Whitney 98% interval, ±25% Hodges-Lehmann tolerance, direction increase",
			decide: kayentaP99At(10)},
	}
}

// sumBuckets adds up bucket counts over minutes.
func sumBuckets(minutes [][]float64) []float64 {
	out := make([]float64, len(latencyBounds)+1)
	for _, m := range minutes {
		for i, n := range m {
			out[i] += n
		}
	}
	return out
}

// p99At is a fixed p99 limit checked once, at minute `at`, on the canary's
// buckets over the stage so far. A canary that served nothing is a no_go
// (histogram_quantile returns NaN, which Flagger counts as a failed check).
func p99At(at int) func(*latencyStage) (gate.Verdict, int) {
	return func(s *latencyStage) (gate.Verdict, int) {
		at := min(at, len(s.canary))
		p99 := bucketQuantile(0.99, sumBuckets(s.canary[:at]))
		if math.IsNaN(p99) || p99 > s.p99Limit {
			return gate.NoGo, at
		}
		return gate.Go, at
	}
}

// p99EveryMinute is the analysis as Flagger runs it: one measurement a
// minute of the canary's p99 over that minute; the first above the limit is
// a no_go (threshold 1), `passes` passing ones a go. A minute without
// canary requests is skipped (the generous reading, as for the error
// rate).
func p99EveryMinute(passes int) func(*latencyStage) (gate.Verdict, int) {
	return func(s *latencyStage) (gate.Verdict, int) {
		ok := 0
		for i, m := range s.canary {
			p99 := bucketQuantile(0.99, m)
			if math.IsNaN(p99) {
				continue
			}
			if p99 > s.p99Limit {
				return gate.NoGo, i + 1
			}
			ok++
			if ok == passes {
				return gate.Go, i + 1
			}
		}
		return gate.Wait, len(s.canary)
	}
}

// kayentaP99At judges once, at minute `at`, on each arm's per-minute p99
// (histogram_quantile over the minute's buckets, as a Kayenta metric on
// histogram_quantile(0.99, sum by (le) (rate(..._bucket[1m]))) reads it).
// A minute without requests is NaN, which the judge's default NaN strategy
// replaces with 0. With p99 as the only metric, High or Nodata is a no_go
// and Pass a go.
func kayentaP99At(at int) func(*latencyStage) (gate.Verdict, int) {
	return func(s *latencyStage) (gate.Verdict, int) {
		at := min(at, len(s.canary))
		canary := make([]float64, 0, at)
		baseline := make([]float64, 0, at)
		for i := range at {
			canary = append(canary, zeroNaN(bucketQuantile(0.99, s.canary[i])))
			baseline = append(baseline, zeroNaN(bucketQuantile(0.99, s.baseline[i])))
		}
		if kayentaClassify(baseline, canary) == pass {
			return gate.Go, at
		}
		return gate.NoGo, at
	}
}

func zeroNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}
