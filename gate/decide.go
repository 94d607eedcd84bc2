package gate

import (
	"fmt"
	"strings"
)

// combine takes the worst check result: any fail is no_go, otherwise any
// inconclusive is wait, otherwise go. It returns the verdict and a
// one-line reason built from the checks that decided it.
func combine(results []CheckResult) (Verdict, string) {
	var failed, waiting []CheckResult
	for _, r := range results {
		switch r.Verdict {
		case Fail:
			failed = append(failed, r)
		case Inconclusive:
			waiting = append(waiting, r)
		case Pass:
		default:
			// An unknown verdict is never a pass.
			failed = append(failed, r)
		}
	}
	switch {
	case len(results) == 0:
		return Wait, "no checks are configured for this stage; refusing to answer go without evidence"
	case len(failed) > 0:
		return NoGo, summarise(failed, "failed")
	case len(waiting) > 0:
		return Wait, summarise(waiting, "inconclusive")
	default:
		names := make([]string, len(results))
		for i, r := range results {
			names[i] = r.Name
		}
		return Go, fmt.Sprintf("all %d checks passed (%s)", len(results), strings.Join(names, ", "))
	}
}

func summarise(rs []CheckResult, what string) string {
	s := fmt.Sprintf("%s %s: %s", rs[0].Name, what, rs[0].Sentence)
	if len(rs) > 1 {
		others := make([]string, 0, len(rs)-1)
		for _, r := range rs[1:] {
			others = append(others, r.Name)
		}
		s += fmt.Sprintf(" (also %s: %s)", what, strings.Join(others, ", "))
	}
	return s
}
