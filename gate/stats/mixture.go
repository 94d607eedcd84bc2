package stats

import "math"

// LnMixture is ln M(s, v) of the one-sided Robbins normal-mixture
// confidence sequence with mixture parameter ρ:
//
//	ln M(s, v) = ln 2 + ½·ln(ρ/(v+ρ)) + s²/(2(v+ρ)) + ln Φ(s/√(v+ρ))
//
// for a sum s with variance v. The martingale M starts at 1, so by Ville's
// inequality P(ever M ≥ 1/α) ≤ α under the null s has mean ≤ 0.
func LnMixture(s, v, rho float64) float64 {
	x := s / math.Sqrt(v+rho)
	return math.Ln2 + 0.5*math.Log(rho/(v+rho)) + halfSqPlusLogCDF(x)
}
