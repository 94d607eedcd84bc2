package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestEvaluateArithmetic checks every number against an independent
// computation (Python, the constrained MLE by bisection on its score).
func TestEvaluateArithmetic(t *testing.T) {
	minutes := []Minute{
		{1000, 12, 4000, 35},
		{1200, 9, 3900, 30},
		{0, 0, 4100, 33}, // canary not serving: skipped
		{900, 15, 4200, 41},
		{1100, 10, 3800, 28},
	}
	r := Test{Margin: 0.005, Looks: 60, Variance: VarianceStudent}.Evaluate(minutes, 5)
	want := []struct {
		name      string
		got, want float64
	}{
		{"CanaryTotal", r.CanaryTotal, 4200},
		{"CanaryErrors", r.CanaryErrors, 46},
		{"BaselineTotal", r.BaselineTotal, 15900},
		{"BaselineErrors", r.BaselineErrors, 134},
		{"W", r.W, 3311.8847539015605},
		{"DHat", r.DHat, 0.0027206756560823548},
		{"S", r.S, -7.548859543817526},
		{"A", r.A, 2613.6684109418075},
		{"B", r.B, 698.2163429597529},
		{"A2", r.A2, 2064.3282682444733},
		{"B2", r.B2, 148.87620026241885},
		{"VEmp", r.VEmp, 23.555890116478682},
		{"DF", r.DF, 2.976772521177005},
		{"PcTilde", r.PcTilde, 0.013078931054350033},
		{"PbTilde", r.PbTilde, 0.008078931054350032},
		{"VBin", r.VBin, 39.33216863570127},
		{"Gamma", r.Gamma, 0.10043783649305121},
		{"ExpectedCanaryErrors", r.ExpectedCanaryErrors, 54.93151042827014},
		{"CanaryRate", r.CanaryRate, 46.0 / 4200},
		{"BaselineRate", r.BaselineRate, 134.0 / 15900},
	}
	for _, w := range want {
		if math.Abs(w.got-w.want) > 1e-9*math.Max(1, math.Abs(w.want)) {
			t.Errorf("%s = %v, want %v", w.name, w.got, w.want)
		}
	}
	if r.Minutes != 4 || r.Skipped != 1 || r.Look != 5 || r.Looks != 60 {
		t.Errorf("minutes %d skipped %d look %d/%d, want 4, 1, 5/60", r.Minutes, r.Skipped, r.Look, r.Looks)
	}

	// The decision's own arithmetic.
	b := PocockBoundaries(60, 0.05)[4]
	nu := math.Max(r.DF, 1)
	tq := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Quantile(1 - normSF(b))
	wantFactor := (tq / b) * (tq / b)
	wantV := math.Max(r.VBin, wantFactor*r.VEmp)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"Bound", r.Bound, b},
		{"EmpFactor", r.EmpFactor, wantFactor},
		{"V", r.V, wantV},
		{"Z", r.Z, r.S / math.Sqrt(wantV)},
		{"NoGoBound", r.NoGoBound, b + math.Max(0, r.Gamma)*(b*b-1)/6},
		// The go side's own bound (its α spent by SpendPocockLate from
		// look 3), lowered by the whole skewness correction; VarianceStudent
		// widens both sides alike, so VGo = V.
		{"GoBound", r.GoBound, func() float64 {
			g := boundaries.get(60, 0.05, SpendPocockLate, 2)[4]
			return g - r.Gamma*(g*g-1)/6
		}()},
		{"VGo", r.VGo, wantV},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-6*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r.Outcome != Undecided {
		t.Errorf("outcome %v, want undecided (Z = %.3f, bounds %.3f/%.3f)", r.Outcome, r.Z, r.NoGoBound, r.GoBound)
	}
}

// TestQuasiArithmetic recomputes the default variance model's numbers
// from the minutes: each arm's Pearson statistic around its own rate,
// pooled over 2(k−1) degrees of freedom, and V = VBin·max(1, f·φ̂).
func TestQuasiArithmetic(t *testing.T) {
	minutes := []Minute{
		{1000, 12, 4000, 35},
		{1200, 9, 3900, 30},
		{0, 0, 4100, 33}, // canary not serving: skipped
		{900, 25, 4200, 61},
		{1100, 10, 3800, 28},
	}
	r := Test{Margin: 0.005, Looks: 60}.Evaluate(minutes, 5)
	pc, pb := 56.0/4200, 154.0/15900
	var x2 float64
	for _, m := range []Minute{minutes[0], minutes[1], minutes[3], minutes[4]} {
		ec, eb := m.CanaryTotal*pc, m.BaselineTotal*pb
		x2 += (m.CanaryErrors-ec)*(m.CanaryErrors-ec)/(ec*(1-pc)) + (m.BaselineErrors-eb)*(m.BaselineErrors-eb)/(eb*(1-pb))
	}
	phi := x2 / 6
	b := PocockBoundaries(60, 0.05)[4]
	tq := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: 6}.Quantile(1 - normSF(b))
	f := (tq / b) * (tq / b)
	wantV := r.VBin * math.Max(1, f*phi)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"Phi", r.Phi, phi},
		{"DF", r.DF, 6},
		{"EmpFactor", r.EmpFactor, f},
		{"V", r.V, wantV},
		{"Z", r.Z, r.S / math.Sqrt(wantV)},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-6*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !(phi > 1) {
		t.Errorf("φ̂ = %v: the example should be overdispersed", phi)
	}
}

// TestQuasiSharedStep: a step both arms share moves each arm's Pearson
// statistic but not the within-minute one; the test then uses the
// within-minute dispersion and its k−1 degrees of freedom.
func TestQuasiSharedStep(t *testing.T) {
	var ms []Minute
	for i := range 12 {
		m := Minute{1000, 10, 4000, 40}
		if i >= 6 {
			m = Minute{1000, 50, 4000, 200}
		}
		ms = append(ms, m)
	}
	r := Test{Margin: 0.005, Looks: 60}.Evaluate(ms, 12)
	if r.DF != 11 {
		t.Errorf("DF = %v, want 11 (within-minute)", r.DF)
	}
	if r.Phi > 0.5 {
		t.Errorf("φ̂ = %v, want the within-minute dispersion (near 0: every minute's contrast is the same)", r.Phi)
	}
	arms := Test{Margin: 0.005, Looks: 60, Variance: VarianceQuasiArms}.Evaluate(ms, 12)
	if arms.DF != 22 || !(arms.Phi > 10) {
		t.Errorf("arms only: DF %v φ̂ %v, want 22 and far above 1", arms.DF, arms.Phi)
	}
}

func TestEvaluateDecisions(t *testing.T) {
	steady := func(n int, m Minute) []Minute {
		ms := make([]Minute, n)
		for i := range ms {
			ms[i] = m
		}
		return ms
	}
	cases := []struct {
		name    string
		test    Test
		minutes []Minute
		want    Outcome
	}{
		{
			name:    "clear regression",
			test:    Test{Margin: 0.005, Looks: 60},
			minutes: steady(10, Minute{1000, 50, 4000, 40}),
			want:    Regression,
		},
		{
			name:    "clearly within the margin",
			test:    Test{Margin: 0.005, Looks: 60},
			minutes: steady(10, Minute{5000, 50, 5000, 50}),
			want:    NoRegression,
		},
		{
			name:    "exactly at the margin",
			test:    Test{Margin: 0.005, Looks: 60},
			minutes: steady(10, Minute{1000, 15, 4000, 40}),
			want:    Undecided,
		},
		{
			name:    "clear regression, confidence sequence",
			test:    Test{Margin: 0.005},
			minutes: steady(10, Minute{1000, 50, 4000, 40}),
			want:    Regression,
		},
		{
			name:    "clearly within the margin, confidence sequence",
			test:    Test{Margin: 0.005},
			minutes: steady(10, Minute{5000, 50, 5000, 50}),
			want:    NoRegression,
		},
		{
			name:    "no errors anywhere, lots of traffic",
			test:    Test{Margin: 0.005, Looks: 60},
			minutes: steady(5, Minute{2000, 0, 8000, 0}),
			want:    NoRegression,
		},
		{
			name:    "huge regression but only two minutes",
			test:    Test{Margin: 0.005, Looks: 60},
			minutes: steady(2, Minute{10000, 5000, 10000, 10}),
			want:    NotEnoughData,
		},
		{
			name:    "huge regression, too few expected errors",
			test:    Test{Margin: 0.005, Looks: 60},
			minutes: steady(5, Minute{100, 2, 900, 0}),
			want:    NotEnoughData,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.test.Evaluate(c.minutes, len(c.minutes))
			if r.Outcome != c.want {
				t.Errorf("outcome %v, want %v (Z %.3f, bounds %.3f/%.3f, ln M %.3f/%.3f)", r.Outcome, c.want, r.Z, r.NoGoBound, r.GoBound, r.LnMNoGo, r.LnMGo)
			}
		})
	}
}

// TestEvaluateDegenerate feeds inputs that must never produce a decision
// and must not panic or leak NaN.
func TestEvaluateDegenerate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	many := func(n int, m Minute) []Minute {
		ms := make([]Minute, n)
		for i := range ms {
			ms[i] = m
		}
		return ms
	}
	cases := []struct {
		name    string
		test    Test
		minutes []Minute
		want    []Outcome // acceptable outcomes
	}{
		{"nil", Test{Margin: 0.005, Looks: 60}, nil, []Outcome{NotEnoughData}},
		{"empty", Test{Margin: 0.005, Looks: 60}, []Minute{}, []Outcome{NotEnoughData}},
		{"all zero", Test{Margin: 0.005, Looks: 60}, many(20, Minute{}), []Outcome{NotEnoughData}},
		{"canary arm empty", Test{Margin: 0.005, Looks: 60}, many(20, Minute{0, 0, 1000, 500}), []Outcome{NotEnoughData}},
		{"baseline arm empty", Test{Margin: 0.005, Looks: 60}, many(20, Minute{1000, 900, 0, 0}), []Outcome{NotEnoughData}},
		{"NaN counts", Test{Margin: 0.005, Looks: 60}, many(20, Minute{nan, 5, 1000, 5}), []Outcome{NotEnoughData}},
		{"NaN errors", Test{Margin: 0.005, Looks: 60}, many(20, Minute{1000, nan, 1000, nan}), []Outcome{NotEnoughData}},
		{"infinite counts", Test{Margin: 0.005, Looks: 60}, many(20, Minute{inf, inf, inf, 0}), []Outcome{NotEnoughData}},
		{"negative counts", Test{Margin: 0.005, Looks: 60}, many(20, Minute{-1000, -5, 1000, 5}), []Outcome{NotEnoughData}},
		{"overflowing counts", Test{Margin: 0.005, Looks: 60}, many(20, Minute{1e308, 1e306, 1e308, 1e306}), []Outcome{Undecided, NotEnoughData}},
		// Both arms failing every request: the canary cannot be worse than
		// its baseline, so go is right for this relative test (a shared
		// outage is for an absolute SLO check to catch); no_go would be wrong.
		{"all errors in both arms", Test{Margin: 0.005, Looks: 60}, many(20, Minute{1000, 1000, 1000, 1000}), []Outcome{NoRegression, Undecided, NotEnoughData}},
		{"all errors in both arms, CS", Test{Margin: 0.005}, many(20, Minute{1000, 1000, 1000, 1000}), []Outcome{NoRegression, Undecided, NotEnoughData}},
		{"all errors in the canary", Test{Margin: 0.005, Looks: 60}, many(20, Minute{1000, 1000, 1000, 10}), []Outcome{Regression}},
		{"all errors in the baseline", Test{Margin: 0.005, Looks: 60}, many(20, Minute{1000, 10, 1000, 1000}), []Outcome{NoRegression}},
		{"one minute of everything", Test{Margin: 0.005, Looks: 60}, many(1, Minute{1e9, 1e9, 1, 0}), []Outcome{NotEnoughData}},
		{"no errors, tiny traffic", Test{Margin: 0.005, Looks: 60}, many(20, Minute{1, 0, 1, 0}), []Outcome{NotEnoughData}},
		{"margin zero, no errors", Test{Looks: 60}, many(20, Minute{1000, 0, 1000, 0}), []Outcome{Undecided, NotEnoughData}},
		{"errors above totals are clamped", Test{Margin: 0.005, Looks: 60}, many(3, Minute{10, 20, 10, 20}), []Outcome{Undecided, NotEnoughData}},
		{"invalid alpha", Test{Margin: 0.005, Alpha: 0.7, Looks: 60}, many(20, Minute{1000, 500, 1000, 0}), []Outcome{Undecided}},
		{"invalid margin", Test{Margin: nan, Looks: 60}, many(20, Minute{1000, 500, 1000, 0}), []Outcome{Undecided}},
		{"too many looks", Test{Margin: 0.005, Looks: MaxLooks + 1}, many(20, Minute{1000, 500, 1000, 0}), []Outcome{Undecided}},
		{"negative rho", Test{Margin: 0.005, Rho: -1}, many(20, Minute{1000, 500, 1000, 0}), []Outcome{Undecided}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, look := range []int{-1, 0, 1, 3, len(c.minutes), 1000} {
				r := c.test.Evaluate(c.minutes, look)
				ok := false
				for _, w := range c.want {
					ok = ok || r.Outcome == w
				}
				if !ok {
					t.Errorf("look %d: outcome %v, want one of %v", look, r.Outcome, c.want)
				}
				for k, v := range r.Details() {
					if !finite(v) {
						t.Errorf("look %d: %s = %v", look, k, v)
					}
				}
				if _, err := json.Marshal(r); err != nil {
					t.Errorf("look %d: result does not marshal: %v", look, err)
				}
				if r.Outcome == NotEnoughData && r.NeededMinutes < 0 {
					t.Errorf("look %d: needed minutes %d", look, r.NeededMinutes)
				}
			}
		})
	}
}

func TestEvaluateNotEnoughData(t *testing.T) {
	cases := []struct {
		name         string
		minutes      []Minute
		wantRequests float64
		wantMinutes  int
	}{
		{
			name:         "no data: 5 errors at the 1% fallback",
			wantRequests: 500,
			wantMinutes:  3,
		},
		{
			name:         "no errors: N_c·δ must reach 5",
			minutes:      []Minute{{100, 0, 900, 0}, {100, 0, 900, 0}},
			wantRequests: 5/0.005 - 200,
			wantMinutes:  8, // 800 more at 100 a minute
		},
		{
			name:         "enough errors, too few minutes",
			minutes:      []Minute{{1000, 30, 1000, 20}},
			wantRequests: 0,
			wantMinutes:  2,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Test{Margin: 0.005, Looks: 60}.Evaluate(c.minutes, len(c.minutes))
			if r.Outcome != NotEnoughData {
				t.Fatalf("outcome %v, want not enough data", r.Outcome)
			}
			if math.Abs(r.NeededCanaryRequests-c.wantRequests) > 1e-6 || r.NeededMinutes != c.wantMinutes {
				t.Errorf("needed %v requests, %d minutes; want %v, %d", r.NeededCanaryRequests, r.NeededMinutes, c.wantRequests, c.wantMinutes)
			}
		})
	}
}

func TestEvaluateLook(t *testing.T) {
	ms := []Minute{{1000, 12, 4000, 35}, {1200, 9, 3900, 30}, {900, 15, 4200, 41}}
	b := PocockBoundaries(10, 0.05)
	cases := []struct {
		look, wantLook int
	}{
		{0, 3}, {-5, 3}, {1, 1}, {3, 3}, {10, 10}, {25, 10},
	}
	for _, c := range cases {
		r := Test{Margin: 0.005, Looks: 10}.Evaluate(ms, c.look)
		if r.Look != c.wantLook || r.Bound != b[c.wantLook-1] {
			t.Errorf("look %d: used look %d bound %v, want look %d bound %v", c.look, r.Look, r.Bound, c.wantLook, b[c.wantLook-1])
		}
	}
	r := Test{Margin: 0.005}.Evaluate(ms, 500)
	if r.Look != 500 || math.Abs(r.Bound-math.Log(20)) > 1e-12 {
		t.Errorf("confidence sequence: look %d bound %v, want 500, ln 20", r.Look, r.Bound)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		test Test
		want string // substring of the error; "" for none
	}{
		{"defaults", Test{Margin: 0.005}, ""},
		{"pocock", Test{Margin: 0.005, Alpha: 0.01, Looks: 60}, ""},
		{"negative margin", Test{Margin: -0.01}, "margin"},
		{"alpha too large", Test{Margin: 0.005, Alpha: 0.5}, "alpha"},
		{"negative looks", Test{Margin: 0.005, Looks: -1}, "looks"},
		{"infinite rho", Test{Margin: 0.005, Rho: math.Inf(1)}, "rho"},
		{"negative min minutes", Test{Margin: 0.005, MinMinutes: -1}, "min minutes"},
		{"NaN min expected errors", Test{Margin: 0.005, MinExpectedErrors: math.NaN()}, "min expected errors"},
	}
	for _, c := range cases {
		err := c.test.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestOutcomeString(t *testing.T) {
	cases := map[Outcome]string{
		Undecided:     "undecided",
		NotEnoughData: "not_enough_data",
		Regression:    "regression",
		NoRegression:  "no_regression",
		Outcome(9):    "Outcome(9)",
	}
	for o, want := range cases {
		if got := o.String(); got != want {
			t.Errorf("%d: %q, want %q", int(o), got, want)
		}
	}
}
