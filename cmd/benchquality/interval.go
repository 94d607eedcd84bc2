package main

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// estimate is a number with its 95% interval. n is the sample it rests
// on; n = 0 means there was nothing to estimate.
type estimate struct {
	value, lo, hi float64
	n             int
}

// z95 is the normal quantile of a two-sided 95% interval.
var z95 = distuv.UnitNormal.Quantile(0.975)

// wilson is the rate k/n with its Wilson score interval.
func wilson(k, n int) estimate {
	if n == 0 {
		return estimate{}
	}
	p := float64(k) / float64(n)
	nn := float64(n)
	z2 := z95 * z95
	centre := (p + z2/(2*nn)) / (1 + z2/nn)
	half := z95 / (1 + z2/nn) * math.Sqrt(p*(1-p)/nn+z2/(4*nn*nn))
	return estimate{value: p, lo: math.Max(0, centre-half), hi: math.Min(1, centre+half), n: n}
}

// mean is the sample mean with its Student-t interval.
func mean(xs []float64) estimate {
	switch len(xs) {
	case 0:
		return estimate{}
	case 1:
		return estimate{value: xs[0], lo: xs[0], hi: xs[0], n: 1}
	}
	m, sd := stat.MeanStdDev(xs, nil)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975)
	half := t * sd / math.Sqrt(float64(len(xs)))
	return estimate{value: m, lo: m - half, hi: m + half, n: len(xs)}
}

// pairedRatio is Σa/Σb over pairs, with a percentile bootstrap interval
// (resampling pairs, 2,000 resamples, seeded).
func pairedRatio(a, b []float64, seed uint64) estimate {
	if len(a) == 0 || len(a) != len(b) {
		return estimate{}
	}
	ratio := func(idx func(i int) int) float64 {
		var sa, sb float64
		for i := range a {
			j := idx(i)
			sa += a[j]
			sb += b[j]
		}
		return sa / sb
	}
	value := ratio(func(i int) int { return i })
	r := rand.New(rand.NewPCG(seed, 0xb00757))
	const resamples = 2000
	boot := make([]float64, resamples)
	for i := range boot {
		boot[i] = ratio(func(int) int { return r.IntN(len(a)) })
	}
	slices.Sort(boot)
	return estimate{value: value, lo: boot[int(0.025*resamples)], hi: boot[int(0.975*resamples)-1], n: len(a)}
}

// median returns the sample median with a distribution-free 95% interval
// from the order statistics (the binomial(n, ½) normal approximation).
func median(xs []float64) estimate {
	n := len(xs)
	if n == 0 {
		return estimate{}
	}
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	h := 1.96 * math.Sqrt(float64(n)) / 2
	lo := max(int(math.Floor(float64(n)/2-h)), 0)
	hi := min(int(math.Ceil(float64(n)/2+h)), n-1)
	return estimate{value: m, lo: s[lo], hi: s[hi], n: n}
}
