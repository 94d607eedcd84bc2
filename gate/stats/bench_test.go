package stats

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkEvaluate(b *testing.B) {
	sc := scenario{canary: 1000, baseline: 4000, rate: 0.01, diff: 0.005}
	r := rand.New(rand.NewPCG(1, 2))
	minutes := make([]Minute, 60)
	for i := range minutes {
		minutes[i] = sc.minute(r, i+1)
	}
	for _, looks := range []int{60, 0} {
		name := "pocock"
		if looks == 0 {
			name = "confidence-sequence"
		}
		b.Run(name, func(b *testing.B) {
			t := Test{Margin: 0.005, Looks: looks}
			for b.Loop() {
				t.Evaluate(minutes, 60)
			}
		})
	}
}
