package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestConstrainedMLE(t *testing.T) {
	cases := []struct {
		name           string
		xc, nc, xb, nb float64
		d              float64
		wantPc, wantPb float64 // NaN: compare with direct maximisation only
	}{
		{name: "no errors at all sits on the boundary p_b = 0", xc: 0, nc: 1000, xb: 0, nb: 9000, d: 0.005, wantPc: 0.005, wantPb: 0},
		{name: "estimates already differ by d", xc: 30, nc: 1000, xb: 50, nb: 2000, d: 0.005, wantPc: 0.03, wantPb: 0.025},
		{name: "d = 0 gives the pooled rate", xc: 10, nc: 1000, xb: 50, nb: 3000, d: 0, wantPc: 0.015, wantPb: 0.015},
		{name: "all errors", xc: 100, nc: 100, xb: 400, nb: 400, d: 0.005, wantPc: 1, wantPb: 0.995},
		{name: "low rates", xc: 3, nc: 2000, xb: 9, nb: 18000, d: 0.001, wantPc: math.NaN()},
		{name: "high rates", xc: 61, nc: 2400, xb: 162, nb: 8100, d: 0.005, wantPc: math.NaN()},
		{name: "canary better than baseline", xc: 1, nc: 5000, xb: 300, nb: 5000, d: 0.01, wantPc: math.NaN()},
		{name: "tiny canary", xc: 1, nc: 3, xb: 20, nb: 100000, d: 0.002, wantPc: math.NaN()},
		{name: "negative d", xc: 5, nc: 1000, xb: 40, nb: 1000, d: -0.02, wantPc: math.NaN()},
		{name: "fractional counts", xc: 4.7, nc: 998.2, xb: 31.1, nb: 4012.9, d: 0.005, wantPc: math.NaN()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pc, pb, ok := ConstrainedMLE(c.xc, c.nc, c.xb, c.nb, c.d)
			if !ok {
				t.Fatal("not ok")
			}
			if math.Abs(pc-pb-c.d) > 1e-12 && pb != 0 {
				t.Errorf("p̃_c − p̃_b = %v, want %v", pc-pb, c.d)
			}
			if !math.IsNaN(c.wantPc) {
				if math.Abs(pc-c.wantPc) > 1e-9 || math.Abs(pb-c.wantPb) > 1e-9 {
					t.Errorf("got (%v, %v), want (%v, %v)", pc, pb, c.wantPc, c.wantPb)
				}
			}
			checkMaximum(t, c.xc, c.nc, c.xb, c.nb, c.d, pc)
		})
	}
}

// TestConstrainedMLERandom compares the closed form with direct
// maximisation over many random inputs.
func TestConstrainedMLERandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		nc := float64(1 + r.IntN(5000))
		nb := float64(1 + r.IntN(50000))
		xc := math.Round(nc * math.Pow(r.Float64(), 3))
		xb := math.Round(nb * math.Pow(r.Float64(), 3))
		d := r.Float64() * 0.05
		pc, _, ok := ConstrainedMLE(xc, nc, xb, nb, d)
		if !ok {
			t.Fatalf("(%v/%v, %v/%v, %v): not ok", xc, nc, xb, nb, d)
		}
		checkMaximum(t, xc, nc, xb, nb, d, pc)
	}
}

func checkMaximum(t *testing.T, xc, nc, xb, nb, d, pc float64) {
	t.Helper()
	lo, hi := math.Max(0, d), math.Min(1, 1+d)
	if pc < lo || pc > hi {
		t.Errorf("(%v/%v, %v/%v, %v): p̃_c = %v outside [%v, %v]", xc, nc, xb, nb, d, pc, lo, hi)
		return
	}
	best := maximizeConstrained(xc, nc, xb, nb, d, lo, hi)
	got := constrainedLogLik(xc, nc, xb, nb, d, pc)
	want := constrainedLogLik(xc, nc, xb, nb, d, best)
	if want-got > 1e-6*math.Max(1, math.Abs(want)) {
		t.Errorf("(%v/%v, %v/%v, %v): log-likelihood %v at p̃_c = %v, %v at %v", xc, nc, xb, nb, d, got, pc, want, best)
	}
}

func TestConstrainedMLEInvalid(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name           string
		xc, nc, xb, nb float64
		d              float64
	}{
		{"no canary requests", 0, 0, 1, 100, 0.01},
		{"no baseline requests", 1, 100, 0, 0, 0.01},
		{"NaN count", nan, 100, 1, 100, 0.01},
		{"infinite total", 1, math.Inf(1), 1, 100, 0.01},
		{"d = 1", 1, 100, 1, 100, 1},
		{"NaN d", 1, 100, 1, 100, nan},
	}
	for _, c := range cases {
		if _, _, ok := ConstrainedMLE(c.xc, c.nc, c.xb, c.nb, c.d); ok {
			t.Errorf("%s: ok, want not ok", c.name)
		}
	}
}
