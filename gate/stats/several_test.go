package stats

import (
	"math/rand/v2"
	"testing"
)

// stageOf simulates one stage gated by several sequential checks, each on
// its own data (scenario) and margin, each at level alpha, asked every
// minute for up to maxMinutes. A check's first decision is kept, as the
// gate keeps it. The stage is no_go as soon as one check finds a
// regression, go once every check has ruled one out, else undecided.
func stageOf(r *rand.Rand, scs []scenario, margins []float64, alpha float64, maxMinutes int) Outcome {
	minutes := make([][]Minute, len(scs))
	decided := make([]Outcome, len(scs))
	for i := 1; i <= maxMinutes; i++ {
		gone := 0
		for c, sc := range scs {
			if decided[c] == NoRegression {
				gone++
				continue
			}
			minutes[c] = append(minutes[c], sc.minute(r, i))
			o := Test{Margin: margins[c], Alpha: alpha, Looks: maxMinutes}.Evaluate(minutes[c], i).Outcome
			switch o {
			case Regression:
				return Regression
			case NoRegression:
				decided[c] = o
				gone++
			}
		}
		if gone == len(scs) {
			return NoRegression
		}
	}
	return Undecided
}

// TestSeveralChecksSplitAlpha shows the rule gate.metricChecks applies:
// with m sequential checks on a stage, each at α/m, the stage's false
// no_go and false go stay within α (Bonferroni: the stage errs only if
// one of its checks errs, each with probability at most α/m, whatever
// their dependence). The log shows the rates without the split too: about
// the sum of the checks' own rates.
func TestSeveralChecksSplitAlpha(t *testing.T) {
	const alpha = 0.05
	n := 600
	if testing.Short() {
		n = 150
	}
	limit := mcLimit(alpha, n)
	// error_delta's data: 1% errors, margin 0.5pp; latency_delta's: 2% of
	// requests slower than the threshold, margin 1pp.
	errs := scenario{canary: 1000, baseline: 9000, rate: 0.01}
	slow := scenario{canary: 1000, baseline: 9000, rate: 0.02}
	margins := []float64{0.005, 0.01}
	atMargin := func(sc scenario, m float64) scenario { sc.diff = m; return sc }
	cases := []struct {
		name string
		scs  []scenario
		// wrong is the stage's wrong answer in this case.
		wrong Outcome
	}{
		// Both canaries exactly at their margins: a no_go is wrong for
		// both, and the stage says no_go if either check does.
		{"false no_go: both at their margins", []scenario{atMargin(errs, 0.005), atMargin(slow, 0.01)}, Regression},
		// Latency regressed to its margin, errors healthy: go is wrong.
		{"false go: latency at its margin, errors healthy", []scenario{errs, atMargin(slow, 0.01)}, NoRegression},
		{"false go: errors at their margin, latency healthy", []scenario{atMargin(errs, 0.005), slow}, NoRegression},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rate := func(a float64, seed uint64) float64 {
				r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
				wrong := 0
				for range n {
					if stageOf(r, c.scs, margins, a, 60) == c.wrong {
						wrong++
					}
				}
				return float64(wrong) / float64(n)
			}
			split := rate(alpha/2, uint64(5000+i))
			whole := rate(alpha, uint64(6000+i))
			t.Logf("n=%d wrong answer (%v): %.4f with α/2 each, %.4f with α each (limit %.4f)", n, c.wrong, split, whole, limit)
			if split > limit {
				t.Errorf("stage's wrong answer rate %.4f with α split, want ≤ %.4f", split, limit)
			}
		})
	}
}
