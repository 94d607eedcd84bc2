package stats

import "math"

// ConstrainedMLE returns the binomial maximum-likelihood estimates
// (p̃_c, p̃_b) of two proportions under the constraint p_c − p_b = d, given
// xc errors in nc canary requests and xb errors in nb baseline requests
// (Farrington & Manning 1990, Statistics in Medicine 9:1447–1454). The
// score equation is a cubic in p_c whose root in the feasible range has a
// closed trigonometric form. The result is clamped to p_c ∈ [max(0,d),
// min(1,1+d)]; if the closed form fails numerically, the concave
// constrained log-likelihood is maximised directly. ok is false when the
// inputs make no sense (nc or nb not positive, counts not finite, |d| ≥ 1).
func ConstrainedMLE(xc, nc, xb, nb, d float64) (pc, pb float64, ok bool) {
	if !(nc > 0 && nb > 0) || !finite(xc, nc, xb, nb, d) || math.Abs(d) >= 1 {
		return 0, 0, false
	}
	xc = clamp(xc, 0, nc)
	xb = clamp(xb, 0, nb)
	lo, hi := math.Max(0, d), math.Min(1, 1+d)

	p1, p2 := xc/nc, xb/nb
	theta := nb / nc
	a := 1 + theta
	b := -(1 + theta + p1 + theta*p2 + d*(theta+2))
	c := d*d + d*(2*p1+theta+1) + p1 + theta*p2
	e := -p1 * d * (1 + d)

	v := b*b*b/(27*a*a*a) - b*c/(6*a*a) + e/(2*a)
	u := math.Sqrt(math.Max(0, b*b/(9*a*a)-c/(3*a)))
	if v < 0 {
		u = -u
	}
	pc = math.NaN()
	if u != 0 {
		w := (math.Pi + math.Acos(clamp(v/(u*u*u), -1, 1))) / 3
		pc = 2*u*math.Cos(w) - b/(3*a)
	}
	const slack = 1e-9
	if math.IsNaN(pc) || pc < lo-slack || pc > hi+slack {
		pc = maximizeConstrained(xc, nc, xb, nb, d, lo, hi)
	}
	pc = clamp(pc, lo, hi)
	pb = clamp(pc-d, 0, 1)
	return pc, pb, true
}

// constrainedLogLik is the binomial log-likelihood at p_c = p, p_b = p − d,
// with 0·ln 0 = 0.
func constrainedLogLik(xc, nc, xb, nb, d, p float64) float64 {
	return xlogy(xc, p) + xlogy(nc-xc, 1-p) + xlogy(xb, p-d) + xlogy(nb-xb, 1-p+d)
}

// maximizeConstrained maximises the concave constrained log-likelihood
// over p_c ∈ [lo, hi] by golden-section search.
func maximizeConstrained(xc, nc, xb, nb, d, lo, hi float64) float64 {
	const g = 0.6180339887498949 // (√5−1)/2
	f := func(p float64) float64 { return constrainedLogLik(xc, nc, xb, nb, d, p) }
	x1, x2 := hi-g*(hi-lo), lo+g*(hi-lo)
	f1, f2 := f(x1), f(x2)
	for range 200 {
		if hi-lo < 1e-15 {
			break
		}
		if f1 < f2 {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + g*(hi-lo)
			f2 = f(x2)
		} else {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - g*(hi-lo)
			f1 = f(x1)
		}
	}
	return (lo + hi) / 2
}

func xlogy(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(y)
}

func clamp(x, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, x))
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
