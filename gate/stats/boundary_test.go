package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPocockBoundaries(t *testing.T) {
	// The reference's table, Pocock-type spending, K = 60.
	looks := []int{3, 5, 10, 15, 20, 30, 45, 60}
	cases := []struct {
		alpha float64
		want  []float64
	}{
		{0.05, []float64{2.887, 2.802, 2.660, 2.570, 2.505, 2.415, 2.330, 2.275}},
		{0.01, []float64{3.385, 3.323, 3.219, 3.152, 3.105, 3.042, 2.984, 2.948}},
	}
	// The table has three decimals; the integration agrees to 1e-5.
	const tol = 0.0006
	for _, c := range cases {
		b := PocockBoundaries(60, c.alpha)
		if len(b) != 60 {
			t.Fatalf("alpha %v: got %d boundaries, want 60", c.alpha, len(b))
		}
		for i, k := range looks {
			if got := b[k-1]; math.Abs(got-c.want[i]) > tol {
				t.Errorf("alpha %v look %d: b = %.5f, want %.3f", c.alpha, k, got, c.want[i])
			}
		}
		for k := 1; k < len(b); k++ {
			if b[k] >= b[k-1] {
				t.Errorf("alpha %v: b_%d = %.5f not below b_%d = %.5f", c.alpha, k+1, b[k], k, b[k-1])
			}
		}
	}
}

func TestPocockBoundariesFirstLook(t *testing.T) {
	// At the first look nothing has been spent: 1 − Φ(b_1) = α(1/K).
	cases := []struct {
		looks int
		alpha float64
	}{
		{1, 0.05},
		{1, 0.01},
		{5, 0.05},
		{60, 0.05},
		{60, 0.001},
		{240, 0.025},
	}
	for _, c := range cases {
		b := PocockBoundaries(c.looks, c.alpha)
		want := normUpperQuantile(PocockSpend(c.alpha, 1/float64(c.looks)))
		if math.Abs(b[0]-want) > 1e-9 {
			t.Errorf("K=%d alpha=%v: b_1 = %v, want %v", c.looks, c.alpha, b[0], want)
		}
	}
}

func TestPocockBoundariesGrid(t *testing.T) {
	// Halving the grid step must not move any boundary.
	for _, alpha := range []float64{0.05, 0.01} {
		coarse := pocockBoundaries(60, alpha, gridStep)
		fine := pocockBoundaries(60, alpha, gridStep/2)
		for k := range coarse {
			if d := math.Abs(coarse[k] - fine[k]); d > 2e-5 {
				t.Errorf("alpha %v look %d: step %v gives %.6f, step %v gives %.6f", alpha, k+1, gridStep, coarse[k], gridStep/2, fine[k])
			}
		}
	}
}

func TestPocockBoundariesInvalid(t *testing.T) {
	cases := []struct {
		looks int
		alpha float64
	}{
		{0, 0.05},
		{-1, 0.05},
		{MaxLooks + 1, 0.05},
		{60, 0},
		{60, 1},
		{60, math.NaN()},
	}
	for _, c := range cases {
		if b := PocockBoundaries(c.looks, c.alpha); b != nil {
			t.Errorf("K=%d alpha=%v: got %v, want nil", c.looks, c.alpha, b)
		}
	}
}

func TestPocockBoundariesCopy(t *testing.T) {
	b := PocockBoundaries(10, 0.05)
	want := b[0]
	b[0] = 0
	if got := PocockBoundaries(10, 0.05)[0]; got != want {
		t.Errorf("cache modified through returned slice: b_1 = %v, want %v", got, want)
	}
}

// TestPocockCrossingMonteCarlo simulates Gaussian random walks under H0
// and checks that the probability of ever crossing the boundaries is α,
// and that the spending up to the middle look is α(½).
func TestPocockCrossingMonteCarlo(t *testing.T) {
	const (
		looks = 30
		alpha = 0.05
	)
	n := 400000
	if testing.Short() {
		n = 50000
	}
	checkCrossing(t, PocockBoundaries(looks, alpha), n, rand.New(rand.NewPCG(7, 11)), alpha, PocockSpend(alpha, 0.5), 0)
}

// checkCrossing simulates n Gaussian random walks over len(b) looks and
// checks that the share crossing b by the last look is alpha, and by the
// middle look wantHalf, each within 3.5 standard errors plus slack.
func checkCrossing(t *testing.T, b []float64, n int, r *rand.Rand, alpha, wantHalf, slack float64) {
	t.Helper()
	looks := len(b)
	var crossed, crossedHalf int
	for range n {
		var s float64
		for k := 1; k <= looks; k++ {
			s += r.NormFloat64()
			if s/math.Sqrt(float64(k)) >= b[k-1] {
				crossed++
				if k <= looks/2 {
					crossedHalf++
				}
				break
			}
		}
	}
	for _, c := range []struct {
		name  string
		count int
		want  float64
	}{{"all looks", crossed, alpha}, {"first half", crossedHalf, wantHalf}} {
		got := float64(c.count) / float64(n)
		se := math.Sqrt(c.want * (1 - c.want) / float64(n))
		if math.Abs(got-c.want) > 3.5*se+slack {
			t.Errorf("%s: P(cross) = %.4f, want %.4f ± %.4f", c.name, got, c.want, 3.5*se)
		}
		t.Logf("%s: P(cross) = %.4f (want %.4f, n = %d)", c.name, got, c.want, n)
	}
}

func TestPocockBoundariesConcurrent(t *testing.T) {
	want := pocockBoundaries(20, 0.025, gridStep)
	done := make(chan []float64)
	for range 4 {
		go func() { done <- PocockBoundaries(20, 0.025) }()
	}
	for range 4 {
		got := <-done
		for k := range want {
			if got[k] != want[k] {
				t.Fatalf("b_%d = %v, want %v", k+1, got[k], want[k])
			}
		}
	}
}

// TestSpendingCrossingMonteCarlo is the same for the other spending
// functions: the walk crosses by look k with probability α(k/K).
func TestSpendingCrossingMonteCarlo(t *testing.T) {
	const (
		looks = 30
		alpha = 0.05
	)
	n := 100000
	if testing.Short() {
		n = 20000
	}
	for _, sp := range []struct {
		name string
		sp   Spending
		skip int // looks that spend nothing
	}{{"O'Brien-Fleming", SpendOBF, 0}, {"HSD(-2)", SpendHSDm2, 0}, {"Pocock-late from look 3", SpendPocockLate, 2}} {
		t.Run(sp.name, func(t *testing.T) {
			b := boundaries.get(looks, alpha, sp.sp, sp.skip)
			half := sp.sp.spend(alpha, float64(looks/2-sp.skip)/float64(looks-sp.skip))
			checkCrossing(t, b, n, rand.New(rand.NewPCG(8, 12)), alpha, half, 1e-4)
		})
	}
}

// PocockBoundaries returns b_1..b_K, the one-sided upper boundaries on the
// Z scale for K equally spaced looks at a Gaussian random walk, such that
// P(Z_1 < b_1, …, Z_{k−1} < b_{k−1}, Z_k ≥ b_k) = α(k/K) − α((k−1)/K) with
// the Pocock-type spending function. The sub-densities of the walk on the
// continuation region are carried from look to look by numerical
// integration with Simpson's rule (Jennison & Turnbull 2000, ch. 19).
//
// Results are memoised per (K, α); the returned slice is the caller's own.
// The first computation takes about 25 ms for K = 60 and 1.3 s for
// K = MaxLooks on one core; the grid step (0.1) moves no boundary by more
// than 1e-5.
// It returns nil when K < 1, K > MaxLooks or α is not in (0, 1).
func PocockBoundaries(K int, alpha float64) []float64 {
	if K < 1 || K > MaxLooks || !(alpha > 0 && alpha < 1) {
		return nil
	}
	b := boundaries.get(K, alpha, SpendPocock, 0)
	out := make([]float64, len(b))
	copy(out, b)
	return out
}

// pocockBoundaries is spendingBoundaries with Pocock-type spending.
func pocockBoundaries(K int, alpha, h float64) []float64 {
	return spendingBoundaries(K, alpha, h, SpendPocock, 0)
}
