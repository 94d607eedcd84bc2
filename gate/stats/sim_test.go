package stats

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// scenario describes a simulated stage: both arms' traffic and error rates.
type scenario struct {
	name string
	// Mean requests per minute before and from minute shiftAt on.
	canary, baseline         float64
	canaryLate, baselineLate float64
	// Baseline error rate before and from minute shiftAt on (a step shared
	// by both arms); the canary's rate is always baseline + diff.
	rate, rateLate float64
	shiftAt        int // 0 = no step
	diff           float64
	// concentration > 0 makes errors beta-binomial: each arm's rate in a
	// minute is Beta-distributed with this concentration around its mean.
	concentration float64
}

func (sc scenario) minute(r *rand.Rand, i int) Minute {
	nc, nb, p := sc.canary, sc.baseline, sc.rate
	if sc.shiftAt > 0 && i >= sc.shiftAt {
		if sc.canaryLate > 0 {
			nc = sc.canaryLate
		}
		if sc.baselineLate > 0 {
			nb = sc.baselineLate
		}
		p = sc.rateLate
	}
	c := poisson(r, nc)
	b := poisson(r, nb)
	return Minute{
		CanaryTotal:    float64(c),
		CanaryErrors:   float64(binomial(r, c, sc.perMinuteRate(r, p+sc.diff))),
		BaselineTotal:  float64(b),
		BaselineErrors: float64(binomial(r, b, sc.perMinuteRate(r, p))),
	}
}

func (sc scenario) perMinuteRate(r *rand.Rand, p float64) float64 {
	if sc.concentration <= 0 || p <= 0 {
		return p
	}
	return distuv.Beta{Alpha: p * sc.concentration, Beta: (1 - p) * sc.concentration, Src: r}.Rand()
}

// history draws the hour before the stage: only the baseline serves, all
// of the traffic, at the early error rate, beta-binomial with the given
// concentration (0 = binomial).
func (sc scenario) history(r *rand.Rand, concentration float64) []Minute {
	h := sc
	h.concentration = concentration
	out := make([]Minute, 60)
	for i := range out {
		n := poisson(r, sc.canary+sc.baseline)
		out[i] = Minute{BaselineTotal: float64(n), BaselineErrors: float64(binomial(r, n, h.perMinuteRate(r, sc.rate)))}
	}
	return out
}

// stage asks the test after every minute for up to maxMinutes minutes and
// returns the first decision (or the last answer), the minute it came and
// the canary requests seen by then.
func (sc scenario) stage(r *rand.Rand, t Test, maxMinutes int) (Outcome, int, float64) {
	minutes := make([]Minute, 0, maxMinutes)
	var res Result
	var canary float64
	for i := 1; i <= maxMinutes; i++ {
		m := sc.minute(r, i)
		canary += m.CanaryTotal
		minutes = append(minutes, m)
		res = t.Evaluate(minutes, i)
		if res.Outcome == Regression || res.Outcome == NoRegression {
			return res.Outcome, i, canary
		}
	}
	return res.Outcome, maxMinutes, canary
}

// tally counts outcomes over n simulated stages.
type tally struct {
	n, regression, noRegression int
	minutesToDecision           int
}

func (sc scenario) run(seed uint64, t Test, n, maxMinutes int) tally {
	return sc.runWithHistory(seed, t, n, maxMinutes, -1)
}

// runWithHistory gives every stage an hour of history with the given
// concentration as its dispersion prior (none when concentration < 0).
func (sc scenario) runWithHistory(seed uint64, t Test, n, maxMinutes int, concentration float64) tally {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var tl tally
	tl.n = n
	for range n {
		if concentration >= 0 {
			t.Prior = HistoryDispersion(sc.history(r, concentration))
		}
		o, m, _ := sc.stage(r, t, maxMinutes)
		switch o {
		case Regression:
			tl.regression++
			tl.minutesToDecision += m
		case NoRegression:
			tl.noRegression++
			tl.minutesToDecision += m
		}
	}
	return tl
}

func (tl tally) regressionRate() float64   { return float64(tl.regression) / float64(tl.n) }
func (tl tally) noRegressionRate() float64 { return float64(tl.noRegression) / float64(tl.n) }

// mcLimit is α plus three Monte Carlo standard errors for n stages.
func mcLimit(alpha float64, n int) float64 {
	return alpha + 3*math.Sqrt(alpha*(1-alpha)/float64(n))
}

// binomial draws from Binomial(n, p) exactly by summing geometric gaps
// between successes; the cost grows with n·min(p, 1−p).
func binomial(r *rand.Rand, n int, p float64) int {
	switch {
	case n <= 0 || p <= 0:
		return 0
	case p >= 1:
		return n
	case p > 0.5:
		return n - binomial(r, n, 1-p)
	}
	lq := math.Log1p(-p)
	x, trials := 0, 0
	for {
		trials += int(math.Log(1-r.Float64())/lq) + 1
		if trials > n {
			return x
		}
		x++
	}
}

// poisson draws a Poisson count: exactly for small means, by the rounded
// normal approximation for large ones (traffic volume only, where the
// shape does not matter).
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	if mean > 50 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
