package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// Without ties, the interval's ends are order statistics of the pairwise
// differences x_i − y_j (Hollander & Wolfe): the k-th smallest and the
// k-th largest, k = ⌈mn/2 − ½ − z·σ⌉ with σ² = mn(m+n+1)/12, and the
// estimate lies between the two middle differences.
func TestShiftIsPairwiseDifferenceOrderStatistic(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, size := range [][2]int{{10, 10}, {10, 7}, {25, 40}} {
		x := make([]float64, size[0])
		y := make([]float64, size[1])
		for i := range x {
			x[i] = r.NormFloat64() + 0.5
		}
		for i := range y {
			y[i] = r.NormFloat64()
		}
		var d []float64
		for _, a := range x {
			for _, b := range y {
				d = append(d, a-b)
			}
		}
		slices.Sort(d)
		m, n := float64(len(x)), float64(len(y))
		z := distuv.UnitNormal.Quantile(0.99)
		k := int(math.Ceil(m*n/2 - 0.5 - z*math.Sqrt(m*n*(m+n+1)/12)))
		s, err := mannWhitneyShift(y, x, 0.98)
		if err != nil {
			t.Fatal(err)
		}
		if lo := d[k-1]; math.Abs(s.lower-lo) > 1e-9 {
			t.Errorf("m=%v n=%v: lower %v, want the %d-th smallest difference %v", m, n, s.lower, k, lo)
		}
		if hi := d[len(d)-k]; math.Abs(s.upper-hi) > 1e-9 {
			t.Errorf("m=%v n=%v: upper %v, want the %d-th largest difference %v", m, n, s.upper, k, hi)
		}
		mid := len(d) / 2
		if s.estimate < d[mid-1]-1e-9 || s.estimate > d[mid]+1e-9 {
			t.Errorf("m=%v n=%v: estimate %v outside the middle differences [%v, %v]", m, n, s.estimate, d[mid-1], d[mid])
		}
	}
}

func TestKayentaClassify(t *testing.T) {
	base := []float64{0.010, 0.012, 0.009, 0.011, 0.010, 0.013, 0.008, 0.011, 0.010, 0.012}
	cases := []struct {
		name       string
		experiment []float64
		want       classification
	}{
		{"identical data pass", base, pass},
		{"a clear increase is high", add(base, 0.01), high},
		{"an increase the interval does not separate from zero passes", add(base, 0.0005), pass},
		{"a decrease passes an increase-only metric", add(base, -0.005), pass},
		{"no data", nil, nodata},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := kayentaClassify(base, tc.experiment); got != tc.want {
				t.Fatalf("classification %s, want %s", got, tc.want)
			}
		})
	}
	if got := kayentaClassify([]float64{0, 0, 0}, []float64{0, 0}); got != pass {
		t.Errorf("all tied at zero: %s, want Pass", got)
	}
}

func add(xs []float64, d float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x + d
	}
	return out
}
