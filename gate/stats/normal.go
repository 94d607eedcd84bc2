package stats

import "math"

// normPDF is the standard normal density φ(x).
func normPDF(x float64) float64 {
	return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
}

// normCDF is the standard normal distribution function Φ(x).
func normCDF(x float64) float64 {
	return math.Erfc(-x/math.Sqrt2) / 2
}

// normSF is the upper tail 1−Φ(x), accurate far into the tail.
func normSF(x float64) float64 {
	return math.Erfc(x/math.Sqrt2) / 2
}

// normUpperQuantile returns z with 1−Φ(z) = p, accurate for small p.
func normUpperQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfcinv(2*p)
}

// halfSqPlusLogCDF returns x²/2 + ln Φ(x) without overflow or cancellation
// for very negative x, where Φ(x) underflows.
func halfSqPlusLogCDF(x float64) float64 {
	switch {
	case x > 0:
		return x*x/2 + math.Log1p(-normSF(x))
	case x > -20:
		return x*x/2 + math.Log(normCDF(x))
	default:
		// Mills ratio: Φ(x) = φ(x)/|x|·(1 − 1/x² + 3/x⁴ − 15/x⁶ + …).
		x2 := x * x
		series := 1 - 1/x2 + 3/(x2*x2) - 15/(x2*x2*x2)
		return -math.Log(-x) - 0.5*math.Log(2*math.Pi) + math.Log(series)
	}
}
