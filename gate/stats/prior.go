package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Prior is dispersion seen before the stage: the service's own minutes
// before stage_started_at, when only the baseline served. It adds its
// degrees of freedom to the stage's estimate of φ, so the Student-t
// widening shrinks from the first look, at no cost in canary traffic.
type Prior struct {
	Phi float64 // φ̂ of the history (1 = binomial)
	DF  float64 // its degrees of freedom; 0 = no prior
}

// The history is left out, and the stage's own estimate stands alone,
// when the stage's dispersion is above the history's with a one-sided
// p-value below burstierLevel (the stage burstier than its history: set
// aside readily, since pooling would understate it; at 0.1 a stage with
// 2.6 times the history's dispersion got 8% false go at the margin, at
// 0.25 5.8%, see TestValidityWithHistory), or below it with one under
// calmerLevel (an incident in the history).
const (
	burstierLevel = 0.25
	calmerLevel   = 0.01
)

// HistoryDispersion estimates φ from minutes before the stage, each arm
// on its own (an arm that did not serve, such as a canary not yet
// deployed, counts nothing): from the differences of consecutive minutes'
// error rates, d = x_s/n_s − x_{s−1}/n_{s−1}, whose variance is
// φ·p(1−p)·(1/n_s + 1/n_{s−1}). Differences see a slow drift (a daily
// cycle) hardly at all, where deviations from one mean rate would count
// it as scatter. A mean square of successive differences has about ⅔ of
// the degrees of freedom of a variance over as many minutes (von
// Neumann 1941), so DF = ⅔ of the pairs.
func HistoryDispersion(minutes []Minute) Prior {
	var x2, pairs float64
	for arm := range 2 {
		count := func(m Minute) (n, x float64, ok bool) {
			n, x = m.CanaryTotal, m.CanaryErrors
			if arm == 1 {
				n, x = m.BaselineTotal, m.BaselineErrors
			}
			ok = finite(n, x) && n > 0 && x >= 0
			return n, math.Min(x, n), ok
		}
		var nt, xt float64
		for _, m := range minutes {
			if n, x, ok := count(m); ok {
				nt += n
				xt += x
			}
		}
		if !(nt > 0) {
			continue
		}
		p := xt / nt
		if !(p > 0 && p < 1) {
			continue
		}
		for s := 1; s < len(minutes); s++ {
			n0, x0, ok0 := count(minutes[s-1])
			n1, x1, ok1 := count(minutes[s])
			if !ok0 || !ok1 {
				continue
			}
			d := x1/n1 - x0/n0
			x2 += d * d / (p * (1 - p) * (1/n1 + 1/n0))
			pairs++
		}
	}
	if pairs < 2 {
		return Prior{}
	}
	return Prior{Phi: x2 / pairs, DF: 2 * pairs / 3}
}

// pool combines the stage's φ̂ (df degrees of freedom) with the prior
// unless the two differ beyond chance (an F test, priorLevel each side).
func (p Prior) pool(phi, df float64) (float64, float64, bool) {
	if !(p.DF >= 1 && p.Phi > 0) || !finite(p.Phi, p.DF) {
		return phi, df, false
	}
	if !(df >= 1) {
		return p.Phi, p.DF, true
	}
	f := distuv.F{D1: df, D2: p.DF}
	q := f.CDF(phi / p.Phi)
	if q < calmerLevel || q > 1-burstierLevel {
		return phi, df, false
	}
	return (df*phi + p.DF*p.Phi) / (df + p.DF), df + p.DF, true
}
