package main

import (
	"github.com/patchgate/patchgate/gate"
)

// busy is the canary traffic (requests a minute) from which the undecided
// target applies.
const busy = 100

// results are every judge's decision on every stage.
type results struct {
	families  []family
	judges    []judge
	stages    []*stage
	decisions [][]decision // [stage][judge]
	// futileAt is the minute patchgate's test judged a decision out of
	// reach before max_wait (stats.Test.Futility), 0 if it never did
	// before deciding.
	futileAt []int
	engine   engineReport
}

// row is one judge's figures over a group of stages.
type row struct {
	judge     string
	good, bad int
	// falseGo is among bad stages, falseNoGo among good ones; undecided
	// among all, undecidedBusy among good stages whose canary served at
	// least `busy` requests a minute.
	falseGo, falseNoGo, undecided, undecidedBusy estimate
	// minutes and canary requests to a decision (go or no_go), over the
	// stages decided.
	minutes, requests estimate
	// minutesGo is to go on good stages, minutesNoGo and requestsNoGo to
	// no_go on bad stages.
	minutesGo, minutesNoGo, requestsNoGo estimate
	// medianGo is the median minutes to go on good stages that went.
	medianGo estimate
	// vsThreshold is Σ canary requests to no_go / Σ the threshold at 10m's,
	// over the bad stages both stopped.
	vsThreshold estimate
}

// thresholdJudge is the judge requests to no_go are compared with.
const thresholdJudge = "threshold at 10m"

// rows returns each judge's row over the stages `in` keeps.
func (r *results) rows(in func(*stage) bool) []row {
	ref := -1
	for j, jd := range r.judges {
		if jd.name == thresholdJudge {
			ref = j
		}
	}
	out := make([]row, len(r.judges))
	for j, jd := range r.judges {
		var (
			good, bad, falseGo, falseNoGo, undecided, busyGood, undecidedBusy, n int
			minutes, requests, minutesGo, minutesNoGo, requestsNoGo              []float64
			pairA, pairB                                                         []float64
		)
		for i, s := range r.stages {
			if !in(s) {
				continue
			}
			n++
			d := r.decisions[i][j]
			if s.bad {
				bad++
			} else {
				good++
			}
			switch d.verdict {
			case gate.Go:
				if s.bad {
					falseGo++
				} else {
					minutesGo = append(minutesGo, float64(d.minute))
				}
			case gate.NoGo:
				if !s.bad {
					falseNoGo++
				} else {
					minutesNoGo = append(minutesNoGo, float64(d.minute))
					requestsNoGo = append(requestsNoGo, d.canary)
					if ref >= 0 && r.decisions[i][ref].verdict == gate.NoGo {
						pairA = append(pairA, d.canary)
						pairB = append(pairB, r.decisions[i][ref].canary)
					}
				}
			default:
				undecided++
			}
			if d.verdict != gate.Wait {
				minutes = append(minutes, float64(d.minute))
				requests = append(requests, d.canary)
			}
			if !s.bad && s.canaryPerMinute >= busy {
				busyGood++
				if d.verdict == gate.Wait {
					undecidedBusy++
				}
			}
		}
		out[j] = row{
			judge: jd.name, good: good, bad: bad,
			falseGo: wilson(falseGo, bad), falseNoGo: wilson(falseNoGo, good),
			undecided: wilson(undecided, n), undecidedBusy: wilson(undecidedBusy, busyGood),
			minutes: mean(minutes), requests: mean(requests),
			minutesGo: mean(minutesGo), medianGo: median(minutesGo), minutesNoGo: mean(minutesNoGo), requestsNoGo: mean(requestsNoGo),
			vsThreshold: pairedRatio(pairA, pairB, uint64(j)+1),
		}
	}
	return out
}

func all(*stage) bool { return true }

// plainErrors keeps the families with binomial errors and ordinary
// traffic.
func plainErrors(s *stage) bool { return s.family != "bursty" && s.family != "low_traffic" }

func inFamily(name string) func(*stage) bool {
	return func(s *stage) bool { return s.family == name }
}
