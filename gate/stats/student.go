package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// studentFactor returns (t_ν⁻¹(q)/z)² with q = 1−Φ(z): how much an
// empirical variance with ν degrees of freedom must be widened so that a
// studentised statistic crosses z no more often than a normal one.
// ν is floored at 1.
func studentFactor(nu, z float64) float64 {
	nu = math.Max(nu, 1)
	q := normSF(z)
	// Upper tail of Student's t: 1−F(y) = ½·I_{ν/(ν+y²)}(ν/2, ½).
	x := mathext.InvRegIncBeta(nu/2, 0.5, 2*q)
	y := math.Sqrt(nu * (1 - x) / x)
	f := y / z
	return math.Max(1, f*f)
}

// csNormalBound returns z such that ln M(z·√v, v) = lnBound: the
// confidence sequence's bound on the normal scale at variance v.
func csNormalBound(v, rho, lnBound float64) float64 {
	if !(v > 0) {
		return 0
	}
	sd := math.Sqrt(v)
	lo, hi := 0.0, 1.0
	for LnMixture(hi*sd, v, rho) < lnBound && hi < 1e6 {
		lo, hi = hi, 2*hi
	}
	for range 100 {
		mid := (lo + hi) / 2
		if LnMixture(mid*sd, v, rho) < lnBound {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
