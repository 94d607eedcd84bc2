package main

import (
	"math"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/gate/stats"
	"github.com/patchgate/patchgate/internal/config"
)

// judge is one gate under comparison. decide watches a stage's minutes as
// they complete and returns its first decision (go or no_go) and the
// minute it came, or wait and the last minute when it never decided.
type judge struct {
	name   string
	what   string
	decide func(minutes []stats.Minute) (gate.Verdict, int)
}

// decision is what a judge did on one stage.
type decision struct {
	verdict gate.Verdict
	minute  int
	canary  float64 // canary requests up to the decision (or the horizon)
}

// errorDeltaTest is the stats.Test that gate/errordelta.go builds for the
// policy's error_delta check on a stage of `looks` planned looks (its
// max_wait in minutes). The engine cross-check (engine.go) proves the
// decisions are the engine's.
func errorDeltaTest(ed config.ErrorDelta, looks int) stats.Test {
	t := stats.Test{Margin: ed.MarginPP / 100, Alpha: ed.Alpha}
	if ed.Method != "confidence_sequence" {
		t.Looks = looks
	}
	return t
}

// sequential asks the test after every completed minute, as the gate does
// (one look per minute, look k on minutes 1..k), until it decides; outcome
// reads the decision off each look's result.
func sequential(t stats.Test, outcome func(stats.Result) stats.Outcome) func([]stats.Minute) (gate.Verdict, int) {
	return func(ms []stats.Minute) (gate.Verdict, int) {
		for k := 1; k <= len(ms); k++ {
			switch outcome(t.Evaluate(ms[:k], k)) {
			case stats.Regression:
				return gate.NoGo, k
			case stats.NoRegression:
				return gate.Go, k
			}
		}
		return gate.Wait, len(ms)
	}
}

func withVariance(t stats.Test, v stats.Variance) stats.Test {
	t.Variance = v
	return t
}

func asIs(r stats.Result) stats.Outcome { return r.Outcome }

// withoutFactor redoes a group-sequential look's final comparison with the
// Student-t widening of the empirical variance switched off, that is with
// V = max(V_bin, V_emp) as the statistics reference writes it, from the
// numbers the result reports (S, V_bin, V_emp and the two bounds, which do
// not depend on V). gate/stats has no switch for this; it is an ablation
// for the report, not something the gate can run.
func withoutFactor(r stats.Result) stats.Outcome {
	if r.Outcome == stats.NotEnoughData {
		return stats.NotEnoughData
	}
	v := math.Max(r.VBin, r.VEmp)
	if !(v > 0) || !(r.NoGoBound > 0) || !(r.GoBound > 0) {
		return stats.Undecided
	}
	z := r.S / math.Sqrt(v)
	noGo, goOn := z >= r.NoGoBound, -z >= r.GoBound
	switch {
	case noGo && !goOn:
		return stats.Regression
	case goOn && !noGo:
		return stats.NoRegression
	}
	return stats.Undecided
}

// judges returns the gates compared, patchgate's as configured first.
func judges(ed config.ErrorDelta) []judge {
	margin := ed.MarginPP / 100
	pocock := ed
	pocock.Method = "pocock"
	cs := ed
	cs.Method = "confidence_sequence"
	return []judge{
		{name: "patchgate", what: "error_delta as configured (Pocock-type group-sequential over 60 looks, α = 0.05 each way), asked every minute",
			decide: sequential(errorDeltaTest(pocock, horizon), asIs)},
		{name: "v: student (before)", what: "V = max(V_bin, f·V_emp)",
			decide: sequential(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceStudent), asIs)},
		{name: "v: emp, no factor", what: "V = max(V_bin, V_emp)",
			decide: sequential(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceEmpNoFactor), asIs)},
		{name: "v: quasi arms", what: "quasi arms; never within-minute",
			decide: sequential(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceQuasiArms), asIs)},
		{name: "v: quasi within", what: "V = V_bin·max(1, f·φ̂), φ̂ within-minute",
			decide: sequential(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceQuasiWithin), asIs)},
		{name: "v: quasi, no factor", what: "V = V_bin·max(1, φ̂)",
			decide: sequential(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceQuasiNoFactor), asIs)},
		{name: "patchgate, confidence sequence", what: "error_delta with method: confidence_sequence (open-ended)",
			decide: sequential(errorDeltaTest(cs, horizon), asIs)},
		{name: "threshold at 10m", what: "canary error rate − baseline error rate over the first 10 minutes > δ → no_go, else go (one check at minute 10)",
			decide: thresholdAt(10, margin)},
		{name: "threshold every minute", what: "Flagger/Argo analysis: every minute, the last minute's rates; > δ once → no_go; 10 passing minutes → go",
			decide: thresholdEveryMinute(10, margin)},
		{name: "Kayenta Mann-Whitney", what: "NetflixACAJudge at minute 10 on the 10 per-minute error rates: Mann-Whitney 98% interval, ±25% Hodges-Lehmann tolerance, direction increase",
			decide: kayentaAt(10)},
	}
}
