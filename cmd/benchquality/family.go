package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/patchgate/patchgate/gate/stats"
)

// horizon is how many minutes a stage is asked for at most (one ask per
// completed minute), and the stage's max_wait.
const horizon = 60

// stage is one simulated canary stage with known truth: every minute's
// request and error counts of both arms, drawn before any gate looks.
type stage struct {
	family string
	seed   uint64
	index  int
	// bad is the truth: the canary's error rate exceeds the baseline's by
	// more than the margin.
	bad bool
	// canaryPerMinute is the canary's mean traffic by design.
	canaryPerMinute float64
	// history is the hour before the stage (baseline only).
	history []stats.Minute
	minutes []stats.Minute
}

// canaryUpTo is the canary's requests in the first k minutes.
func (s *stage) canaryUpTo(k int) float64 {
	var n float64
	for _, m := range s.minutes[:k] {
		n += m.CanaryTotal
	}
	return n
}

// family draws stages of one kind. margin is δ as a fraction.
type family struct {
	name string
	// what is the one-line description printed with the results.
	what string
	draw func(r *rand.Rand, index int, margin float64) arms
}

// arms is a stage's design: per minute i (1-based), each arm's mean
// traffic and error rate, and how much the error rate scatters from minute
// to minute.
type arms struct {
	bad                bool
	canary, baseline   func(i int) float64 // mean requests in minute i
	canaryP, baselineP func(i int) float64 // error rate in minute i
	// concentration > 0 makes each arm's error rate in a minute
	// Beta-distributed around its mean with this concentration
	// (overdispersed, bursty errors); 0 means binomial errors.
	concentration float64
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }

// traffic draws the common design: 200–5,000 requests a minute (log-uniform),
// of which the canary gets a 5–50% share.
func traffic(r *rand.Rand) (canary, baseline float64) {
	total := logUniform(r, 200, 5000)
	share := uniform(r, 0.05, 0.5)
	return total * share, total * (1 - share)
}

// baseRate draws the baseline error rate: 0.1%–2%, log-uniform.
func baseRate(r *rand.Rand) float64 { return logUniform(r, 0.001, 0.02) }

// shifted returns a family where the canary's error rate is the baseline's
// plus diff(margin).
func shifted(name, what string, bad bool, diff func(margin float64) float64) family {
	return family{name: name, what: what, draw: func(r *rand.Rand, _ int, margin float64) arms {
		c, b := traffic(r)
		p := baseRate(r)
		return arms{bad: bad, canary: constant(c), baseline: constant(b),
			canaryP: constant(p + diff(margin)), baselineP: constant(p)}
	}}
}

// halfBad makes odd-numbered stages of a family bad (+2δ) and even ones
// healthy.
func halfBad(index int, margin float64) (bool, float64) {
	if index%2 == 1 {
		return true, 2 * margin
	}
	return false, 0
}

func families() []family {
	return []family{
		shifted("healthy", "canary error rate = baseline's", false, func(float64) float64 { return 0 }),
		shifted("mild", "canary error rate = baseline's + δ/2 (within the margin: go is right)", false, func(m float64) float64 { return m / 2 }),
		shifted("bad", "canary error rate = baseline's + 2δ", true, func(m float64) float64 { return 2 * m }),
		{name: "bad_ratio", what: "canary error rate = 2 × baseline's, baseline 0.75%–3% (difference 1.5δ–6δ)",
			draw: func(r *rand.Rand, _ int, margin float64) arms {
				c, b := traffic(r)
				p := logUniform(r, 1.5*margin, 6*margin)
				return arms{bad: true, canary: constant(c), baseline: constant(b), canaryP: constant(2 * p), baselineP: constant(p)}
			}},
		{name: "low_traffic", what: "2–20 canary requests a minute; half healthy, half +2δ",
			draw: func(r *rand.Rand, i int, margin float64) arms {
				bad, d := halfBad(i, margin)
				c := logUniform(r, 2, 20)
				share := uniform(r, 0.05, 0.5)
				p := baseRate(r)
				return arms{bad: bad, canary: constant(c), baseline: constant(c * (1 - share) / share),
					canaryP: constant(p + d), baselineP: constant(p)}
			}},
		{name: "drift", what: "both arms' error rate drifts ×¼–×4 over the hour, traffic −50%…+100%; half healthy, half +2δ",
			draw: func(r *rand.Rand, i int, margin float64) arms {
				bad, d := halfBad(i, margin)
				c, b := traffic(r)
				p := baseRate(r)
				drift := logUniform(r, 0.25, 4)
				ramp := uniform(r, -0.5, 1)
				rate := func(i int) float64 { return p * math.Pow(drift, float64(i)/horizon) }
				load := func(v float64) func(int) float64 {
					return func(i int) float64 { return v * (1 + ramp*float64(i)/horizon) }
				}
				return arms{bad: bad, canary: load(c), baseline: load(b),
					canaryP: func(i int) float64 { return rate(i) + d }, baselineP: rate}
			}},
		{name: "step", what: "a shared incident: both arms +1–5pp for 5–20 minutes from minute 5–30, half of them with the canary's traffic share ×½ or ×2 meanwhile; half healthy, half +2δ",
			draw: func(r *rand.Rand, i int, margin float64) arms {
				bad, d := halfBad(i, margin)
				total := logUniform(r, 200, 5000)
				share := uniform(r, 0.05, 0.5)
				p := baseRate(r)
				from := 5 + r.IntN(26)
				to := from + 5 + r.IntN(16)
				extra := uniform(r, 0.01, 0.05)
				during := share
				if r.IntN(2) == 1 {
					f := 2.0
					if r.IntN(2) == 1 {
						f = 0.5
					}
					during = math.Min(share*f, 0.6)
				}
				in := func(i int) bool { return i >= from && i < to }
				shareAt := func(i int) float64 {
					if in(i) {
						return during
					}
					return share
				}
				rate := func(i int) float64 {
					if in(i) {
						return p + extra
					}
					return p
				}
				return arms{bad: bad,
					canary:   func(i int) float64 { return total * shareAt(i) },
					baseline: func(i int) float64 { return total * (1 - shareAt(i)) },
					canaryP:  func(i int) float64 { return rate(i) + d }, baselineP: rate}
			}},
		{name: "bursty", what: "overdispersed errors: each arm's rate per minute ~ Beta around its mean, concentration 30–300; half healthy, half +2δ",
			draw: func(r *rand.Rand, i int, margin float64) arms {
				bad, d := halfBad(i, margin)
				c, b := traffic(r)
				p := baseRate(r)
				return arms{bad: bad, canary: constant(c), baseline: constant(b),
					canaryP: constant(p + d), baselineP: constant(p), concentration: logUniform(r, 30, 300)}
			}},
	}
}

// simulate draws stage index of the family: its design from its own
// random stream (seed, family, index), then every minute's counts.
func (f family) simulate(seed uint64, familyIndex, index int, margin float64) *stage {
	r := rand.New(rand.NewPCG(seed, uint64(familyIndex)<<32|uint64(index)))
	a := f.draw(r, index, margin)
	s := &stage{family: f.name, seed: seed, index: index, bad: a.bad, minutes: make([]stats.Minute, horizon)}
	var sum float64
	for i := 1; i <= horizon; i++ {
		sum += a.canary(i)
		nc := poisson(r, a.canary(i))
		nb := poisson(r, a.baseline(i))
		s.minutes[i-1] = stats.Minute{
			CanaryTotal:    nc,
			CanaryErrors:   binomial(r, nc, a.rate(r, a.canaryP(i))),
			BaselineTotal:  nb,
			BaselineErrors: binomial(r, nb, a.rate(r, a.baselineP(i))),
		}
	}
	s.canaryPerMinute = sum / horizon
	// The hour before the stage, from its own stream so that the stage's
	// minutes stay what they were without it: only the baseline serves,
	// all of the traffic, at the baseline's error rate (drift extends
	// backwards; incidents are in the stage only).
	h := rand.New(rand.NewPCG(seed^0x68697374, uint64(familyIndex)<<32|uint64(index)))
	s.history = make([]stats.Minute, horizon)
	for i := -horizon; i < 0; i++ {
		n := poisson(h, a.canary(i)+a.baseline(i))
		s.history[i+horizon] = stats.Minute{BaselineTotal: n, BaselineErrors: binomial(h, n, a.rate(h, a.baselineP(i)))}
	}
	return s
}

// rate returns the minute's error rate: p, or a Beta draw around p for
// overdispersed errors.
func (a arms) rate(r *rand.Rand, p float64) float64 {
	p = math.Min(math.Max(p, 0), 1)
	if a.concentration <= 0 || p == 0 || p == 1 {
		return p
	}
	return distuv.Beta{Alpha: p * a.concentration, Beta: (1 - p) * a.concentration, Src: r}.Rand()
}

func poisson(r *rand.Rand, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	return distuv.Poisson{Lambda: mean, Src: r}.Rand()
}

func binomial(r *rand.Rand, n, p float64) float64 {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	return distuv.Binomial{N: n, P: p, Src: r}.Rand()
}

func (s *stage) String() string {
	return fmt.Sprintf("%s #%d (seed %d)", s.family, s.index, s.seed)
}
