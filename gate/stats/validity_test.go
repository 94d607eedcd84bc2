package stats

import (
	"testing"
)

// marginScenarios are canaries exactly at the margin (D = δ): every
// decision either way is an error, and each must stay within α plus Monte
// Carlo error.
var marginScenarios = []scenario{
	{name: "0.1% base, high traffic", canary: 1000, baseline: 9000, rate: 0.001, diff: 0.001},
	{name: "0.1% base, low traffic", canary: 50, baseline: 450, rate: 0.001, diff: 0.005},
	{name: "2% base, high traffic", canary: 2000, baseline: 8000, rate: 0.02, diff: 0.005},
	{name: "2% base, low traffic", canary: 20, baseline: 200, rate: 0.02, diff: 0.005},
	// Beta-binomial errors: each arm's rate in each minute varies around its
	// mean with the given coefficient of variation.
	{name: "2% base, bursty (cv 0.7)", canary: 500, baseline: 4500, rate: 0.02, diff: 0.005, concentration: 100},
	{name: "2% base, bursty (cv 0.2), even split", canary: 2000, baseline: 2000, rate: 0.02, diff: 0.005, concentration: 1224},
	{name: "0.1% base, bursty (cv 1)", canary: 2000, baseline: 8000, rate: 0.001, diff: 0.002, concentration: 1000},
	// Both arms' error rates step from 0.1% to 2% at minute 30.
	{name: "shared step", canary: 500, baseline: 4500, rate: 0.001, rateLate: 0.02, shiftAt: 30, diff: 0.005},
	{name: "shared step with traffic shift", canary: 100, baseline: 2000, canaryLate: 2000, rate: 0.001, rateLate: 0.02, shiftAt: 30, diff: 0.005},
}

// TestValidityAtMargin asks the group-sequential test every minute for up
// to 60 minutes and stops at the first decision.
func TestValidityAtMargin(t *testing.T) {
	const alpha = 0.05
	n := 800
	if testing.Short() {
		n = 200
	}
	limit := mcLimit(alpha, n)
	for _, v := range []struct {
		name     string
		variance Variance
	}{{"quasi", VarianceQuasi}, {"student", VarianceStudent}} {
		for i, sc := range marginScenarios {
			t.Run(v.name+"/"+sc.name, func(t *testing.T) {
				tl := sc.run(uint64(1000+i), Test{Margin: sc.diff, Alpha: alpha, Looks: 60, Variance: v.variance}, n, 60)
				t.Logf("n=%d no_go %.4f go %.4f (limit %.4f)", n, tl.regressionRate(), tl.noRegressionRate(), limit)
				if got := tl.regressionRate(); got > limit {
					t.Errorf("no_go rate %.4f at the margin, want ≤ %.4f", got, limit)
				}
				if got := tl.noRegressionRate(); got > limit {
					t.Errorf("go rate %.4f at the margin, want ≤ %.4f", got, limit)
				}
			})
		}
	}
}

// TestValidityWithHistory is TestValidityAtMargin with the hour before
// the stage as the dispersion prior: drawn from the same process as the
// stage's baseline, and, where the stage is bursty, also from a binomial
// process (the stage burstier than its history, which the prior then
// understates until the F test sets it aside).
func TestValidityWithHistory(t *testing.T) {
	const alpha = 0.05
	n := 800
	if testing.Short() {
		n = 200
	}
	limit := mcLimit(alpha, n)
	for i, sc := range marginScenarios {
		histories := []struct {
			name          string
			concentration float64
		}{{"same history", sc.concentration}}
		if sc.concentration > 0 {
			histories = append(histories, struct {
				name          string
				concentration float64
			}{"binomial history", 0})
		}
		for _, h := range histories {
			t.Run(h.name+"/"+sc.name, func(t *testing.T) {
				tl := sc.runWithHistory(uint64(4000+i), Test{Margin: sc.diff, Alpha: alpha, Looks: 60}, n, 60, h.concentration)
				t.Logf("n=%d no_go %.4f go %.4f (limit %.4f)", n, tl.regressionRate(), tl.noRegressionRate(), limit)
				if got := tl.regressionRate(); got > limit {
					t.Errorf("no_go rate %.4f at the margin, want ≤ %.4f", got, limit)
				}
				if got := tl.noRegressionRate(); got > limit {
					t.Errorf("go rate %.4f at the margin, want ≤ %.4f", got, limit)
				}
			})
		}
	}
}

// TestConfidenceSequenceValidity is the same for open-ended stages on a
// few of the scenarios.
func TestConfidenceSequenceValidity(t *testing.T) {
	const alpha = 0.05
	n := 300
	if testing.Short() {
		n = 100
	}
	limit := mcLimit(alpha, n)
	for _, i := range []int{0, 2, 4, 8} {
		sc := marginScenarios[i]
		t.Run(sc.name, func(t *testing.T) {
			tl := sc.run(uint64(2000+i), Test{Margin: sc.diff, Alpha: alpha}, n, 60)
			t.Logf("n=%d no_go %.4f go %.4f (limit %.4f)", n, tl.regressionRate(), tl.noRegressionRate(), limit)
			if got := tl.regressionRate(); got > limit {
				t.Errorf("no_go rate %.4f at the margin, want ≤ %.4f", got, limit)
			}
			if got := tl.noRegressionRate(); got > limit {
				t.Errorf("go rate %.4f at the margin, want ≤ %.4f", got, limit)
			}
		})
	}
}

// TestPower checks that clear cases are decided, and decided right.
func TestPower(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 60
	}
	cases := []struct {
		sc     scenario
		margin float64
		looks  int
		want   Outcome
		min    float64 // least share of stages decided as want within 60 minutes
	}{
		{scenario{name: "+2δ, 1% base, 1000/min", canary: 1000, baseline: 4000, rate: 0.01, diff: 0.01}, 0.005, 60, Regression, 0.95},
		{scenario{name: "+2δ, 1% base, 200/min", canary: 200, baseline: 1800, rate: 0.01, diff: 0.01}, 0.005, 60, Regression, 0.85},
		{scenario{name: "+2δ, 0.1% base, 2000/min", canary: 2000, baseline: 8000, rate: 0.001, diff: 0.002}, 0.001, 60, Regression, 0.95},
		{scenario{name: "healthy, 1% base, 5000/min", canary: 5000, baseline: 5000, rate: 0.01}, 0.005, 60, NoRegression, 0.95},
		{scenario{name: "healthy, 1% base, 500/min, 25% share", canary: 500, baseline: 1500, rate: 0.01}, 0.005, 60, NoRegression, 0.95},
		{scenario{name: "+2δ, 1% base, 1000/min, CS", canary: 1000, baseline: 4000, rate: 0.01, diff: 0.01}, 0.005, 0, Regression, 0.95},
		{scenario{name: "healthy, 1% base, 5000/min, CS", canary: 5000, baseline: 5000, rate: 0.01}, 0.005, 0, NoRegression, 0.95},
	}
	for i, c := range cases {
		t.Run(c.sc.name, func(t *testing.T) {
			tl := c.sc.run(uint64(3000+i), Test{Margin: c.margin, Looks: c.looks}, n, 60)
			right, wrong := tl.regressionRate(), tl.noRegressionRate()
			if c.want == NoRegression {
				right, wrong = wrong, right
			}
			t.Logf("n=%d %v %.3f, opposite %.3f, mean minutes to decision %.1f", n, c.want, right, wrong,
				float64(tl.minutesToDecision)/float64(max(tl.regression+tl.noRegression, 1)))
			if right < c.min {
				t.Errorf("%v in %.3f of stages, want ≥ %.2f", c.want, right, c.min)
			}
			if wrong > 0 {
				t.Errorf("opposite decision in %.3f of stages", wrong)
			}
		})
	}
}
