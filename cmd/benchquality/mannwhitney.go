package main

import (
	"errors"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// shift is the Hodges-Lehmann estimate of how far experiment lies above
// control, with its confidence interval.
type shift struct {
	lower, upper, estimate float64
}

// errAllTied is returned when every observation has the same value: the
// rank statistic has no variance.
var errAllTied = errors.New("cannot compute a confidence interval when all observations are tied")

// mannWhitneyShift computes the interval the way Kayenta's kayenta-mannwhitney
// module does (MannWhitney.calculateConfidenceInterval, derived from R's
// wilcox.test with conf.int = TRUE, correct = TRUE, two-sided, asymptotic):
// the interval's ends are the shifts μ at which the continuity-corrected,
// tie-corrected standardised rank-sum of experiment − μ against control
// equals ±z_{1−(1−confidence)/2}, and the estimate is the shift where it
// is 0. Each root is found by bisection on [min(x)−max(y), max(x)−min(y)],
// where Kayenta uses a Brent solver on the same bracket.
func mannWhitneyShift(control, experiment []float64, confidence float64) (shift, error) {
	x, y := experiment, control
	if len(x) == 0 || len(y) == 0 {
		return shift{}, errors.New("an empty sample has no shift")
	}
	muMin := slices.Min(x) - slices.Max(y)
	muMax := slices.Max(x) - slices.Min(y)
	z := distuv.UnitNormal.Quantile(1 - (1-confidence)/2)
	var err error
	root := func(q float64) float64 {
		f := func(mu float64) float64 {
			v, e := standardisedRankSum(x, y, mu)
			if e != nil {
				err = e
				return 0
			}
			return v - q
		}
		return bisect(f, muMin, muMax)
	}
	s := shift{lower: root(z), upper: root(-z), estimate: root(0)}
	return s, err
}

// bisect returns where the non-increasing step function f crosses zero on
// [lo, hi]: lo when f(lo) ≤ 0, hi when f(hi) ≥ 0 (Kayenta's findRoot).
func bisect(f func(float64) float64, lo, hi float64) float64 {
	flo := f(lo)
	if flo <= 0 {
		return lo
	}
	if f(hi) >= 0 {
		return hi
	}
	for range 200 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		switch v := f(mid); {
		case v > 0:
			lo = mid
		case v < 0:
			hi = mid
		default:
			return mid
		}
	}
	return lo + (hi-lo)/2
}

// standardisedRankSum is (W − corr)/σ for the sample x−mu against y: W the
// rank sum of x−mu minus its mean, ranks averaged over ties, corr = ½ in
// the direction of W (continuity correction), σ with the tie correction.
func standardisedRankSum(x, y []float64, mu float64) (float64, error) {
	type obs struct {
		v   float64
		isX bool
	}
	all := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, obs{v - mu, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	nx, ny := float64(len(x)), float64(len(y))
	n := nx + ny
	var rankSumX, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		t := float64(j - i)
		rank := float64(i+j+1) / 2 // average of ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].isX {
				rankSumX += rank
			}
		}
		ties += t*t*t - t
		i = j
	}
	dz := rankSumX - nx*(nx+1)/2 - nx*ny/2
	corr := 0.0
	switch {
	case dz > 0:
		corr = 0.5
	case dz < 0:
		corr = -0.5
	}
	sigma := math.Sqrt(nx * ny / 12 * ((n + 1) - ties/(n*(n-1))))
	if sigma == 0 {
		return 0, errAllTied
	}
	return (dz - corr) / sigma, nil
}
