package gate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// rank orders check verdicts from best to worst. An unknown verdict ranks
// with fail: it is never a pass.
func rank(v CheckVerdict) int {
	switch v {
	case Pass:
		return 0
	case Inconclusive:
		return 1
	default:
		return 2
	}
}

// rules are what decide needs besides the check results: whether the
// stage's looks are used up, what its policy answers then, and the
// override in force, if any.
type rules struct {
	timedOut  bool
	onTimeout Verdict
	// answerFutility: the stage's on_futility is answer.
	answerFutility bool
	maxWait        config.Duration
	override       *store.Override
}

// outcome is decide's answer.
type outcome struct {
	verdict  Verdict
	reason   string
	override *OverrideInfo
	// timedOut is set when the verdict is the stage's on_timeout answer,
	// not a test's; futile when it is that answer given early because no
	// decision was within reach.
	timedOut, futile bool
}

// decide orders the check results and answers: the worst result wins (any
// fail is no_go, else any inconclusive is wait, else go), and a result
// with an unknown verdict is never a pass. A wait of the metric checks
// once the stage's looks are used up becomes the policy's on_timeout
// answer, except that a wait for want of data never becomes go; a wait of
// a control (a closed window, the concurrency line) stays a wait. An
// override applies last and names the checks it bypassed.
//
// It is the only place that combines results; it reads nothing but its
// arguments.
func decide(results []CheckResult, r rules) outcome {
	if len(results) == 0 {
		return applyOverride(outcome{verdict: Wait, reason: "no checks are configured for this stage; refusing to answer go without evidence"}, results, r.override)
	}
	// Controls are named first in a reason: they are what an operator
	// changes, and they decide whatever the metrics say.
	ordered := slices.Clone(results)
	slices.SortStableFunc(ordered, func(a, b CheckResult) int {
		switch {
		case a.control == b.control:
			return 0
		case a.control:
			return -1
		}
		return 1
	})
	worst := map[bool]int{} // by control
	for _, res := range ordered {
		worst[res.control] = max(worst[res.control], rank(res.Verdict))
	}
	metrics, controls := worst[false], worst[true]

	var out outcome
	timeout := Verdict("")
	// Futile: every waiting metric check says no decision is within reach
	// before max_wait at the traffic seen, and the stage answers then.
	futile := metrics == 1 && !r.timedOut && r.answerFutility && allFutile(ordered)
	if metrics == 1 && (r.timedOut || futile) {
		timeout = r.onTimeout
		if timeout == Go && anyMissingData(ordered) {
			timeout = NoGo
		}
		if timeout == Go && controls == 1 {
			timeout = "" // the control's wait holds
		}
	}
	switch {
	case max(metrics, controls) == 2:
		out = outcome{verdict: NoGo, reason: summarise(ordered, 2, "failed")}
	case timeout != "" && futile:
		out = outcome{verdict: timeout, futile: true, reason: fmt.Sprintf("undecided: no decision is within reach before max_wait %s at the traffic seen so far, so the policy answers %s now (on_futility: answer): %s",
			model.Duration(r.maxWait), timeout, summarise(ordered, 1, "inconclusive"))}
	case timeout != "":
		out = outcome{verdict: timeout, timedOut: true, reason: fmt.Sprintf("undecided: still inconclusive after max_wait %s, so the policy answers %s: %s",
			model.Duration(r.maxWait), timeout, summarise(ordered, 1, "inconclusive"))}
	case max(metrics, controls) == 1:
		out = outcome{verdict: Wait, reason: summarise(ordered, 1, "inconclusive")}
		if metrics == 0 {
			out.reason += "; the other checks passed"
		}
	default:
		names := make([]string, len(results))
		for i, res := range results {
			names[i] = res.Name
		}
		out = outcome{verdict: Go, reason: fmt.Sprintf("all %d checks passed (%s)", len(results), strings.Join(names, ", "))}
	}
	return applyOverride(out, results, r.override)
}

// applyOverride lets an operator's override decide, naming the checks
// whose verdict disagreed with it.
func applyOverride(out outcome, results []CheckResult, o *store.Override) outcome {
	if o == nil {
		return out
	}
	verdict := Verdict(o.Verdict)
	bypassed := []string{}
	for _, res := range results {
		if verdict == Go && res.Verdict != Pass || verdict == NoGo && res.Verdict == Pass {
			bypassed = append(bypassed, res.Name)
		}
	}
	reason := fmt.Sprintf("overridden by %s until %s: %s", o.Actor, o.ExpiresAt.UTC().Format(time.RFC3339), o.Reason)
	if len(bypassed) > 0 {
		reason += fmt.Sprintf("; bypassed checks: %s", strings.Join(bypassed, ", "))
	} else {
		reason += "; no check disagreed"
	}
	return outcome{
		timedOut: out.timedOut,
		futile:   out.futile,
		verdict:  verdict,
		reason:   reason + "; the checks said " + string(out.verdict) + ": " + out.reason,
		override: &OverrideInfo{ID: o.ID, Actor: o.Actor, Reason: o.Reason, ExpiresAt: o.ExpiresAt, BypassedChecks: bypassed},
	}
}

// allFutile reports whether every inconclusive metric result is futile.
func allFutile(results []CheckResult) bool {
	n := 0
	for _, res := range results {
		if res.Verdict == Inconclusive && !res.control {
			if !res.futile {
				return false
			}
			n++
		}
	}
	return n > 0
}

func anyMissingData(results []CheckResult) bool {
	for _, res := range results {
		if res.Verdict == Inconclusive && res.missingData {
			return true
		}
	}
	return false
}

// summarise names the first result of the given rank with its sentence,
// and the others of that rank by name.
func summarise(results []CheckResult, rk int, what string) string {
	var first *CheckResult
	var others []string
	for i := range results {
		if rank(results[i].Verdict) != rk {
			continue
		}
		if first == nil {
			first = &results[i]
			continue
		}
		others = append(others, results[i].Name)
	}
	s := fmt.Sprintf("%s %s: %s", first.Name, what, first.Sentence)
	if len(others) > 0 {
		s += fmt.Sprintf(" (also %s: %s)", what, strings.Join(others, ", "))
	}
	return s
}
