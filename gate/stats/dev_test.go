package stats

import (
	"fmt"
	"testing"
	"time"
)

var devScenarios = []scenario{
	{name: "low rate, high traffic", canary: 1000, baseline: 9000, rate: 0.001, diff: 0.001},
	{name: "low rate, low traffic", canary: 50, baseline: 450, rate: 0.001, diff: 0.005},
	{name: "low rate, mid traffic d=0.001", canary: 200, baseline: 1800, rate: 0.001, diff: 0.001},
	{name: "high rate, high traffic", canary: 2000, baseline: 8000, rate: 0.02, diff: 0.005},
	{name: "high rate, low traffic", canary: 20, baseline: 200, rate: 0.02, diff: 0.005},
	{name: "bursty high cv.2 even", canary: 2000, baseline: 2000, rate: 0.02, diff: 0.005, concentration: 1224},
	{name: "bursty high cv.7", canary: 500, baseline: 4500, rate: 0.02, diff: 0.005, concentration: 100},
	{name: "bursty low cv1", canary: 2000, baseline: 8000, rate: 0.001, diff: 0.002, concentration: 1000},
	{name: "bursty low cv2", canary: 2000, baseline: 8000, rate: 0.001, diff: 0.002, concentration: 200},
	{name: "shared step", canary: 500, baseline: 4500, rate: 0.001, rateLate: 0.02, shiftAt: 30, diff: 0.005},
	{name: "shared step, share change", canary: 100, baseline: 2000, canaryLate: 2000, rate: 0.001, rateLate: 0.02, shiftAt: 30, diff: 0.005},
}

type powerCase struct {
	sc     scenario
	margin float64
}

var devPower = []powerCase{
	{scenario{name: "+2δ 1% base 1000/min", canary: 1000, baseline: 4000, rate: 0.01, diff: 0.01}, 0.005},
	{scenario{name: "+2δ 1% base 200/min", canary: 200, baseline: 1800, rate: 0.01, diff: 0.01}, 0.005},
	{scenario{name: "+2δ 0.1% base δ=.001 2000/min", canary: 2000, baseline: 8000, rate: 0.001, diff: 0.002}, 0.001},
	{scenario{name: "healthy 1% 5000/min", canary: 5000, baseline: 5000, rate: 0.01}, 0.005},
	{scenario{name: "healthy 1% 500/min share .25", canary: 500, baseline: 1500, rate: 0.01}, 0.005},
	{scenario{name: "healthy 0.1% 2000/min δ=.001", canary: 2000, baseline: 8000, rate: 0.001}, 0.001},
}

func TestDevSim(t *testing.T) {
	for _, looks := range []int{60, 0} {
		for _, plain := range []bool{true, false} {
			for i, sc := range devScenarios {
				st := time.Now()
				tt := Test{Margin: sc.diff, Looks: looks, plainEmp: plain}
				tl := sc.run(uint64(i+1), tt, 2000, 60)
				fmt.Printf("K=%d plain=%v %-35s no_go %.4f go %.4f (%v)\n", looks, plain, sc.name, tl.regressionRate(), tl.noRegressionRate(), time.Since(st).Round(time.Millisecond))
			}
			for i, pc := range devPower {
				tt := Test{Margin: pc.margin, Looks: looks, plainEmp: plain}
				tl := pc.sc.run(uint64(i+100), tt, 500, 60)
				fmt.Printf("K=%d plain=%v %-35s no_go %.4f go %.4f mean min %.1f\n", looks, plain, pc.sc.name, tl.regressionRate(), tl.noRegressionRate(), float64(tl.minutesToDecision)/float64(tl.regression+tl.noRegression))
			}
		}
	}
}
