package main

import (
	"math"
	"testing"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/gate/stats"
)

// minutes repeats one minute of counts.
func minutes(n int, m stats.Minute) []stats.Minute {
	out := make([]stats.Minute, n)
	for i := range out {
		out[i] = m
	}
	return out
}

func TestThresholds(t *testing.T) {
	const margin = 0.005
	healthy := stats.Minute{CanaryTotal: 100, CanaryErrors: 1, BaselineTotal: 900, BaselineErrors: 9}
	bad := stats.Minute{CanaryTotal: 100, CanaryErrors: 3, BaselineTotal: 900, BaselineErrors: 9}
	spike := append(minutes(4, healthy), bad)
	spike = append(spike, minutes(55, healthy)...)
	idle := stats.Minute{BaselineTotal: 900, BaselineErrors: 9}
	cases := []struct {
		name       string
		minutes    []stats.Minute
		decide     func([]stats.Minute) (gate.Verdict, int)
		want       gate.Verdict
		wantMinute int
	}{
		{"at 10m: equal rates go", minutes(60, healthy), thresholdAt(10, margin), gate.Go, 10},
		{"at 10m: +2pp is no_go", minutes(60, bad), thresholdAt(10, margin), gate.NoGo, 10},
		// 3% in one minute of ten: 1.2% against 1%, within the margin.
		{"at 10m: one bad minute is averaged out", spike, thresholdAt(10, margin), gate.Go, 10},
		{"at 10m: a canary that served nothing is no_go", minutes(60, idle), thresholdAt(10, margin), gate.NoGo, 10},
		{"every minute: ten passing minutes go", minutes(60, healthy), thresholdEveryMinute(10, margin), gate.Go, 10},
		{"every minute: the first bad minute is no_go", spike, thresholdEveryMinute(10, margin), gate.NoGo, 5},
		{"every minute: minutes without canary traffic count neither way", minutes(60, idle), thresholdEveryMinute(10, margin), gate.Wait, 60},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, m := tc.decide(tc.minutes)
			if v != tc.want || m != tc.wantMinute {
				t.Fatalf("%s at minute %d, want %s at %d", v, m, tc.want, tc.wantMinute)
			}
		})
	}
}

func TestWilson(t *testing.T) {
	// Wilson (1927) score interval, e.g. 0 of 10: [0, 0.2775]; 5 of 10: [0.2366, 0.7634].
	cases := []struct {
		k, n   int
		lo, hi float64
	}{{0, 10, 0, 0.2775}, {5, 10, 0.2366, 0.7634}, {10, 10, 0.7225, 1}}
	for _, c := range cases {
		e := wilson(c.k, c.n)
		if math.Abs(e.lo-c.lo) > 5e-5 || math.Abs(e.hi-c.hi) > 5e-5 {
			t.Errorf("wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", c.k, c.n, e.lo, e.hi, c.lo, c.hi)
		}
	}
	if e := wilson(0, 0); e.n != 0 {
		t.Errorf("wilson(0, 0) claims %d observations", e.n)
	}
}
