package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// studentFactor returns (t_ν⁻¹(q)/z)² with q = 1−Φ(z): how much an
// empirical variance with ν degrees of freedom must be widened so that the
// statistic studentised by it crosses z no more often than a normal one.
// ν is floored at 1; the factor is never below 1.
func studentFactor(nu, z float64) float64 {
	if !(z > 0) {
		return 1
	}
	f := studentUpperQuantile(math.Max(nu, 1), normSF(z)) / z
	if !(f > 1) {
		return 1
	}
	return f * f
}

// studentUpperQuantile returns y with P(T_ν ≥ y) = q for 0 < q < ½, by
// Newton's method on ln P(T_ν ≥ y), kept inside the bracket between the
// normal and the Cauchy quantiles.
func studentUpperQuantile(nu, q float64) float64 {
	lo := normUpperQuantile(q)
	hi := 1 / math.Tan(math.Pi*q) // Cauchy (ν = 1), the heaviest tail
	if nu <= 1 {
		return hi
	}
	lnq := math.Log(q)
	lnc := lgamma((nu+1)/2) - lgamma(nu/2) - 0.5*math.Log(nu*math.Pi)
	// Start from the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5).
	z, z2 := lo, lo*lo
	y := z + z*(z2+1)/(4*nu) + z*((5*z2+16)*z2+3)/(96*nu*nu) +
		z*(((3*z2+19)*z2+17)*z2-15)/(384*nu*nu*nu)
	for range 50 {
		if !(y > lo && y < hi) {
			y = (lo + hi) / 2
		}
		sf := 0.5 * mathext.RegIncBeta(nu/2, 0.5, nu/(nu+y*y))
		if sf > q {
			lo = y
		} else {
			hi = y
		}
		lnPDF := lnc - (nu+1)/2*math.Log1p(y*y/nu)
		// d/dy ln sf = −pdf/sf
		step := (math.Log(sf) - lnq) / math.Exp(lnPDF-math.Log(sf))
		y += step
		if math.Abs(step) < 1e-12*y || hi-lo < 1e-12*hi {
			break
		}
	}
	return y
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// csNormalBound returns z > 0 with ln M(z·√v, v) = lnBound: the
// confidence sequence's bound on the normal scale at variance v.
func csNormalBound(v, rho, lnBound float64) float64 {
	if !(v > 0 && rho > 0) {
		return 0
	}
	// With x = s/√(v+ρ), ln M = c + h(x), h(x) = x²/2 + ln Φ(x), which is
	// convex and increasing; Newton's method converges from any start.
	c := math.Ln2 + 0.5*math.Log(rho/(v+rho))
	x := math.Sqrt(math.Max(2*(lnBound-c), 1))
	for range 50 {
		h := halfSqPlusLogCDF(x)
		slope := x + math.Exp(-x*x/2-0.5*math.Log(2*math.Pi)-(h-x*x/2))
		step := (c + h - lnBound) / slope
		x -= step
		if math.Abs(step) < 1e-12 {
			break
		}
	}
	return x * math.Sqrt((v+rho)/v)
}
