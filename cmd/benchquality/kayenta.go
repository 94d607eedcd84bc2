package main

import (
	"math"
	"slices"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/gate/stats"
)

// Kayenta's NetflixACAJudge settings (kayenta-judge NetflixACAJudge.scala).
const (
	kayentaConfidence = 0.98
	kayentaTolerance  = 0.25
)

// classification is a Kayenta metric classification.
type classification string

const (
	pass   classification = "Pass"
	high   classification = "High"
	nodata classification = "Nodata"
)

// kayentaClassify is MannWhitneyClassifier.classify for a metric whose
// direction is "increase" (as an error rate is configured): High when the
// interval's lower end lies above tolerance × |Hodges-Lehmann estimate|.
func kayentaClassify(control, experiment []float64) classification {
	if len(control) == 0 || len(experiment) == 0 {
		return nodata
	}
	c, e := slices.Sorted(slices.Values(control)), slices.Sorted(slices.Values(experiment))
	if slices.Equal(c, e) {
		return pass
	}
	if c[0] == c[len(c)-1] && e[0] == e[len(e)-1] && c[0] == e[0] {
		return pass // a single distinct value
	}
	s, err := mannWhitneyShift(control, experiment, kayentaConfidence)
	if err != nil {
		return nodata
	}
	if s.lower > kayentaTolerance*math.Abs(s.estimate) {
		return high
	}
	return pass
}

// kayentaAt judges once, at minute `at`, on the per-minute error rates of
// both arms. A minute without requests has rate NaN, which the judge's
// default NaN strategy replaces with 0. With error rate as the only
// metric, High or Nodata scores 0 (no_go) and Pass scores 100 (go).
func kayentaAt(at int) func([]stats.Minute) (gate.Verdict, int) {
	return func(ms []stats.Minute) (gate.Verdict, int) {
		at := min(at, len(ms))
		canary := make([]float64, 0, at)
		baseline := make([]float64, 0, at)
		for _, m := range ms[:at] {
			canary = append(canary, ratio(m.CanaryErrors, m.CanaryTotal))
			baseline = append(baseline, ratio(m.BaselineErrors, m.BaselineTotal))
		}
		if kayentaClassify(baseline, canary) == pass {
			return gate.Go, at
		}
		return gate.NoGo, at
	}
}

func ratio(errors, total float64) float64 {
	if total == 0 {
		return 0
	}
	return errors / total
}
