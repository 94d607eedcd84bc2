package stats

import (
	"math"
	"sync"
)

// MaxLooks is the largest number of planned looks boundaries are computed for
// (a day of one look per minute). Longer or open-ended stages use the
// confidence sequence (Test.Looks = 0).
const MaxLooks = 1440

const (
	// gridStep is the spacing of the integration grid on the scale of the
	// random walk S_k = Z_k·√k, whose increments have unit variance.
	gridStep = 0.1
	// gridLow is how many standard deviations of S_k the grid reaches below 0.
	gridLow = 8.0
	// kernelReach is where the normal kernel is cut off (φ(8.5) ≈ 5e-17).
	kernelReach = 8.5
)

// PocockSpend is the Lan–DeMets Pocock-type spending function
// α(τ) = α·ln(1+(e−1)τ): the type I error spent by information fraction τ.
func PocockSpend(alpha, tau float64) float64 {
	return alpha * math.Log1p((math.E-1)*tau)
}

// Spending is an α-spending function of the group-sequential test.
type Spending int

const (
	// SpendPocock (the default): α(τ) = α·ln(1+(e−1)τ).
	SpendPocock Spending = iota
	// SpendOBF, O'Brien–Fleming-type (Lan–DeMets 1983):
	// α(τ) = 2·(1 − Φ(z_{α/2}/√τ)), which spends almost nothing early.
	SpendOBF
	// SpendHSDm2: Hwang–Shih–DeCani α(τ) = α·(1−e^{−γτ})/(1−e^{−γ}), γ = −2.
	SpendHSDm2
	// SpendPocockLate, the go side's default: 30% of α spent as the
	// Pocock type over the first quarter of the looks, 70% as
	// Hwang–Shih–DeCani with γ = −10, which keeps almost all of it for
	// the last fifth:
	// α(τ) = α·[0.3·ln(1+(e−1)·min(1, 4τ)) + 0.7·(e^{10τ}−1)/(e^10−1)].
	// A clearly healthy canary gets its go about as early as under the
	// Pocock type; one whose difference sits between 0 and δ, which needs
	// most of the stage to tell apart from δ, finds α left near max_wait.
	SpendPocockLate
)

// The shape of SpendPocockLate: the share of α kept for the end and its
// γ, and the fraction of the looks over which the rest is spent. Chosen
// on seeds 11 and 12 of cmd/benchquality, checked on seeds 1–5.
const (
	lateShare  = 0.7
	lateGamma  = 10.0
	earlyReach = 0.25
)

// spend returns the α spent by information fraction τ.
func (sp Spending) spend(alpha, tau float64) float64 {
	switch sp {
	case SpendHSDm2:
		return alpha * math.Expm1(2*tau) / math.Expm1(2)
	case SpendPocockLate:
		return (1-lateShare)*PocockSpend(alpha, math.Min(1, tau/earlyReach)) + lateShare*alpha*math.Expm1(lateGamma*tau)/math.Expm1(lateGamma)
	case SpendOBF:
		if tau <= 0 {
			return 0
		}
		return 2 * normSF(normUpperQuantile(alpha/2)/math.Sqrt(tau))
	}
	return PocockSpend(alpha, tau)
}

// boundaries memoises computed boundaries. It holds nothing but pure
// function values, so sharing it between callers is safe.
var boundaries = boundaryCache{m: map[boundaryKey]*boundaryEntry{}}

type boundaryKey struct {
	looks int
	alpha float64
	spend Spending
	skip  int
}

type boundaryEntry struct {
	once sync.Once
	b    []float64
}

type boundaryCache struct {
	mu sync.Mutex
	m  map[boundaryKey]*boundaryEntry
}

// get returns the shared slice for (K, α, spending, skip); callers must
// not modify it.
func (c *boundaryCache) get(K int, alpha float64, sp Spending, skip int) []float64 {
	skip = min(max(skip, 0), K-1)
	key := boundaryKey{K, alpha, sp, skip}
	c.mu.Lock()
	e, ok := c.m[key]
	if !ok {
		e = &boundaryEntry{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.b = spendingBoundaries(K, alpha, gridStep, sp, skip) })
	return e.b
}

// spendingBoundaries computes one-sided upper boundaries b_1..b_K for a
// spending function by recursive integration with grid spacing h. The
// first skip looks spend nothing (looks at which the test can never
// decide): look k spends by τ = (k−skip)/(K−skip).
//
// On the scale of the sum S_k (unit-variance increments) the grid for look
// k is s_j = u_k − j·h, j = 0..n, from the boundary u_k = b_k·√k down to
// at least −gridLow·√k. Because every grid is anchored at its boundary with
// the same spacing, the kernel φ(s'−s) between two consecutive grids takes
// only a few hundred distinct values per look, and the convolution is a
// banded sum of products.
func spendingBoundaries(K int, alpha, h float64, sp Spending, skip int) []float64 {
	b := make([]float64, K)
	var (
		mass  []float64 // sub-density times Simpson weight at each grid point
		prevU float64   // boundary of the previous look on the S scale
		spent float64
	)
	for k := 1; k <= K; k++ {
		next := sp.spend(alpha, float64(max(k-skip, 0))/float64(K-skip))
		// Spending functions that spend almost nothing early (O'Brien–
		// Fleming) would put the first bounds at infinity; 1e-15 puts them
		// about 8 standard deviations out, which no statistic reaches.
		target := math.Max(next-spent, 1e-15)
		spent = next
		rootK := math.Sqrt(float64(k))

		var u float64
		if k == 1 {
			u = normUpperQuantile(target)
		} else {
			u = solveCrossing(mass, prevU, h, target)
		}
		b[k-1] = u / rootK
		if k == K {
			break
		}

		n := int(math.Ceil((u + gridLow*rootK) / h))
		if n%2 == 1 {
			n++
		}
		next2 := make([]float64, n+1)
		if k == 1 {
			for j := range next2 {
				next2[j] = normPDF(u - float64(j)*h)
			}
		} else {
			convolve(next2, mass, u-prevU, h)
		}
		for j := range next2 {
			next2[j] *= simpsonWeight(j, n, h)
		}
		mass, prevU = next2, u
	}
	return b
}

// crossing returns P(continue to the previous look, S_k ≥ u) given the
// previous look's weighted sub-density on the grid prevU − i·h.
func crossing(mass []float64, prevU, h, u float64) float64 {
	// Points with u − s > 12 contribute less than 1e-33 each.
	end := len(mass)
	if m := int((12-(u-prevU))/h) + 1; m < end {
		end = max(m, 0)
	}
	var p float64
	for i := range end {
		p += mass[i] * normSF(u-(prevU-float64(i)*h))
	}
	return p
}

// solveCrossing finds u with crossing(u) = target by bisection; crossing
// is decreasing in u.
func solveCrossing(mass []float64, prevU, h, target float64) float64 {
	lo, hi := prevU-20, prevU+40
	for range 200 {
		mid := (lo + hi) / 2
		if crossing(mass, prevU, h, mid) > target {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo < 1e-12 {
			break
		}
	}
	return (lo + hi) / 2
}

// convolve sets dst[j] = Σ_i mass[i]·φ(shift + (i−j)·h), the density of
// S_k at u_k − j·h, where shift = u_k − u_{k−1}.
func convolve(dst, mass []float64, shift, h float64) {
	mLo := int(math.Ceil((-kernelReach - shift) / h))
	mHi := int(math.Floor((kernelReach - shift) / h))
	kernel := make([]float64, mHi-mLo+1)
	for m := range kernel {
		kernel[m] = normPDF(shift + float64(m+mLo)*h)
	}
	for j := range dst {
		iLo := max(j+mLo, 0)
		iHi := min(j+mHi, len(mass)-1)
		var f float64
		for i := iLo; i <= iHi; i++ {
			f += mass[i] * kernel[i-j-mLo]
		}
		dst[j] = f
	}
}

// simpsonWeight is the weight of point j of n (even) intervals of width h.
func simpsonWeight(j, n int, h float64) float64 {
	switch {
	case j == 0 || j == n:
		return h / 3
	case j%2 == 1:
		return 4 * h / 3
	default:
		return 2 * h / 3
	}
}
