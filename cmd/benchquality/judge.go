package main

import (
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
	// withHistory, when set, is used instead of decide: it also reads the
	// hour before the stage.
	withHistory func(history, minutes []stats.Minute) (gate.Verdict, int)
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

func withSpending(t stats.Test, sp stats.Spending) stats.Test {
	t.Spending = sp
	return t
}

// sequentialWithHistory is sequential with the stage's history as the
// test's dispersion prior.
func sequentialWithHistory(t stats.Test) func(h, ms []stats.Minute) (gate.Verdict, int) {
	return func(h, ms []stats.Minute) (gate.Verdict, int) {
		return sequential(withHistory(t, h), asIs)(ms)
	}
}

// withHistory is the test with the hour before the stage as its prior
// for φ, as gate/errordelta.go reads it.
func withHistory(t stats.Test, history []stats.Minute) stats.Test {
	t.Prior = stats.HistoryDispersion(history)
	return t
}

func withGoSpending(t stats.Test, sp stats.Spending) stats.Test {
	t.GoSpending = &sp
	return t
}

func asIs(r stats.Result) stats.Outcome { return r.Outcome }

// firstRound is the test as the first round of issue 16 left it: both
// sides Pocock-type from look 1, the go bound never lowered for skewness.
func firstRound(t stats.Test) stats.Test {
	t = withGoSpending(t, stats.SpendPocock)
	t.ConservativeGoSkew = true
	return t
}

// pocockOf is the policy's error_delta with the group-sequential method.
func pocockOf(ed config.ErrorDelta) config.ErrorDelta {
	ed.Method = "pocock"
	return ed
}

// futileAt asks the test every minute as sequential does and returns the
// first minute it judged a decision out of reach before its last look
// (on_futility: answer would give on_timeout then), or 0 if it decided
// or reached the last look first.
func futileAt(t stats.Test, ms []stats.Minute) int {
	for k := 1; k <= len(ms); k++ {
		r := t.Evaluate(ms[:k], k)
		if r.Outcome == stats.Regression || r.Outcome == stats.NoRegression {
			return 0
		}
		if t.Futility(r).Futile {
			return k
		}
	}
	return 0
}

// judges returns the gates compared, patchgate's as configured first.
func judges(ed config.ErrorDelta) []judge {
	margin := ed.MarginPP / 100
	pocock := ed
	pocock.Method = "pocock"
	cs := ed
	cs.Method = "confidence_sequence"
	return []judge{
		{name: "patchgate", what: "error_delta as configured (group-sequential over 60 looks, α = 0.05 each way: no_go side Pocock-type, go side 30% Pocock-type over the first 15 looks + 70% kept for the last ones, from look 3, its bound lowered by the whole skewness correction; V = V_bin·max(1, f·φ̂), φ̂ pooled over both arms and the hour before the stage, f at each side's bound), asked every minute",
			withHistory: sequentialWithHistory(errorDeltaTest(pocock, horizon))},
		{name: "issue 16, first round", what: "patchgate as the first round of issue 16 left it: the go side like the no_go side (Pocock-type from look 1, skewness correction only where it raises the bound, one Student-t widening at the larger bound)",
			withHistory: sequentialWithHistory(firstRound(errorDeltaTest(pocock, horizon)))},
		{name: "+ whole skew correction on go", what: "the first round with the go bound lowered by the whole Cornish–Fisher term (error counts are right-skewed, so the go tail is the light one); go side still Pocock-type from look 1",
			withHistory: sequentialWithHistory(withGoSpending(errorDeltaTest(pocock, horizon), stats.SpendPocock))},
		{name: "before issue 16", what: "the same looks with V = max(V_bin, f·V_emp), the Student-t widening of the contrasts' empirical variance (k−1 df)",
			decide: sequential(firstRound(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceStudent)), asIs)},
		{name: "ablation: φ̂ over both arms only", what: "V = V_bin·max(1, f·φ̂), φ̂ each arm's Pearson dispersion around its own rate, pooled (2(k−1) df); no within-minute switch, no history",
			decide: sequential(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceQuasiArms), asIs)},
		{name: "ablation: no history", what: "patchgate without the hour before the stage (φ̂ from the stage alone, with the within-minute switch)",
			decide: sequential(errorDeltaTest(pocock, horizon), asIs)},
		{name: "ablation: within-minute φ̂", what: "V = V_bin·max(1, f·φ̂), φ̂ the Pearson dispersion of the minutes' contrasts (k−1 df); no history",
			decide: sequential(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceQuasiWithin), asIs)},
		{name: "ablation: go side HSD(−2)", what: "patchgate with the go side's α spent by the Hwang–Shih–DeCani function, γ = −2 (later than the Pocock type), from look 1; the no_go side unchanged",
			withHistory: sequentialWithHistory(withGoSpending(errorDeltaTest(pocock, horizon), stats.SpendHSDm2))},
		{name: "ablation: O'Brien-Fleming", what: "patchgate with O'Brien-Fleming-type α spending instead of the Pocock type",
			withHistory: sequentialWithHistory(withSpending(errorDeltaTest(pocock, horizon), stats.SpendOBF))},
		{name: "ablation: binomial V (not valid)", what: "V = V_bin: no allowance for overdispersion; what a perfect dispersion model could reach on binomial errors",
			decide: sequential(withVariance(errorDeltaTest(pocock, horizon), stats.VarianceBinomial), asIs)},
		{name: "patchgate, confidence sequence", what: "error_delta with method: confidence_sequence (open-ended), same variance and prior",
			withHistory: sequentialWithHistory(errorDeltaTest(cs, horizon))},
		{name: "threshold at 10m", what: "canary error rate − baseline error rate over the first 10 minutes > δ → no_go, else go (one check at minute 10)",
			decide: thresholdAt(10, margin)},
		{name: "threshold every minute", what: "Flagger/Argo analysis: every minute, the last minute's rates; > δ once → no_go; 10 passing minutes → go",
			decide: thresholdEveryMinute(10, margin)},
		{name: "Kayenta Mann-Whitney", what: "NetflixACAJudge at minute 10 on the 10 per-minute error rates: Mann-Whitney 98% interval, ±25% Hodges-Lehmann tolerance, direction increase",
			decide: kayentaAt(10)},
	}
}
