package stats

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func TestStudentUpperQuantile(t *testing.T) {
	for _, nu := range []float64{1, 1.5, 2, 2.98, 4, 9, 29, 200, 1e5} {
		for _, q := range []float64{0.2, 0.025, 1e-3, 1e-5} {
			got := studentUpperQuantile(nu, q)
			want := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: nu}.Quantile(1 - q)
			if math.Abs(got-want) > 1e-8*want {
				t.Errorf("ν=%v q=%v: got %v, want %v", nu, q, got, want)
			}
		}
	}
}

func TestStudentFactor(t *testing.T) {
	cases := []struct {
		nu, z, want float64
	}{
		// t_2 upper 0.00195 quantile is 15.96 ≈ 5.5·2.887.
		{nu: 2, z: 2.887, want: math.Pow(distuv.StudentsT{Mu: 0, Sigma: 1, Nu: 2}.Quantile(1-normSF(2.887))/2.887, 2)},
		{nu: 1e6, z: 2.5, want: 1},
		{nu: 0.2, z: 2.5, want: math.Pow(1/math.Tan(math.Pi*normSF(2.5))/2.5, 2)}, // floored at ν = 1
		{nu: 10, z: 0, want: 1},
		{nu: 10, z: -1, want: 1},
	}
	for _, c := range cases {
		if got := studentFactor(c.nu, c.z); math.Abs(got-c.want) > 1e-4*c.want {
			t.Errorf("ν=%v z=%v: got %v, want %v", c.nu, c.z, got, c.want)
		}
	}
}

func TestLnMixture(t *testing.T) {
	const rho = 3.736
	cases := []struct {
		s, v float64
	}{
		{0, 0}, {0, 25}, {10, 25}, {-10, 25}, {-1e4, 1}, {1e4, 1}, {-1e6, 1e-3}, {30, 1e6},
	}
	for _, c := range cases {
		got := LnMixture(c.s, c.v, rho)
		if !finite(got) {
			t.Errorf("ln M(%v, %v) = %v", c.s, c.v, got)
			continue
		}
		// Direct formula where nothing underflows.
		x := c.s / math.Sqrt(c.v+rho)
		if x > -30 {
			want := math.Ln2 + 0.5*math.Log(rho/(c.v+rho)) + c.s*c.s/(2*(c.v+rho)) + math.Log(normCDF(x))
			if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("ln M(%v, %v) = %v, want %v", c.s, c.v, got, want)
			}
		}
		if c.s <= 0 && got > 0 {
			t.Errorf("ln M(%v, %v) = %v > 0 for s ≤ 0", c.s, c.v, got)
		}
	}
	// At s = 0, v = 0, M = 2·½ = 1.
	if got := LnMixture(0, 0, rho); math.Abs(got) > 1e-15 {
		t.Errorf("ln M(0, 0) = %v, want 0", got)
	}
}

func TestCSNormalBound(t *testing.T) {
	const rho = 3.736
	lnBound := math.Log(20)
	for _, v := range []float64{0.01, 1, 25, 1e3, 1e7} {
		z := csNormalBound(v, rho, lnBound)
		if got := LnMixture(z*math.Sqrt(v), v, rho); math.Abs(got-lnBound) > 1e-9 {
			t.Errorf("v=%v: ln M at z=%v is %v, want %v", v, z, got, lnBound)
		}
	}
	// Tightest near V = 25 (about 2.77 on the normal scale).
	if z := csNormalBound(25, rho, lnBound); z > 2.8 {
		t.Errorf("bound at V = 25 is %v, want about 2.77", z)
	}
	if z := csNormalBound(0, rho, lnBound); z != 0 {
		t.Errorf("bound at V = 0 is %v, want 0", z)
	}
}
