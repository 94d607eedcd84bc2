package gate

import (
	"context"
	"fmt"
	"math"

	"github.com/patchgate/patchgate/gate/stats"
	"github.com/patchgate/patchgate/internal/config"
)

// errorDeltaCheck compares the canary's error rate with the baseline's,
// minute by minute, with the group-sequential test of gate/stats: no_go
// once a regression beyond the margin is established, go once it is ruled
// out, wait otherwise. Once reached, the verdict is kept for the stage
// attempt (it is stored), and later looks show the numbers it was reached on.
type errorDeltaCheck struct{ cfg config.ErrorDelta }

func (errorDeltaCheck) name() string { return "error_delta" }

func (c errorDeltaCheck) test(looks int) stats.Test {
	t := stats.Test{Margin: c.cfg.MarginPP / 100, Alpha: c.cfg.Alpha}
	if c.cfg.Method != config.MethodConfidenceSequence {
		t.Looks = looks
	}
	return t
}

func (c errorDeltaCheck) run(ctx context.Context, l *look) CheckResult {
	k := l.k
	if l.outcome != "" && l.outcomeLook > 0 && l.outcomeLook <= l.k {
		k = l.outcomeLook
	}
	minutes, queries, err := l.perMinute(ctx, k)
	if err != nil {
		return sourceError(c.name(), err, queries...)
	}
	res := c.test(l.K).Evaluate(minutes, max(k, 1))
	r := result(c.name(), Inconclusive, "", queries...)
	r.Observed, r.Threshold, r.Unit = ptr(res.DHat*100), ptr(c.cfg.MarginPP), "percentage points"
	r.Details = res.Details()
	window := fmt.Sprintf("%s–%s (%d minute(s), range queries step 1m)",
		l.start.UTC().Format("15:04"), l.lookEnd(k).UTC().Format("15:04"), k)
	arms := fmt.Sprintf("canary %s errors of %s requests (%s), baseline %s of %s (%s), difference %+.3fpp",
		num(res.CanaryErrors), num(res.CanaryTotal), pct(res.CanaryRate),
		num(res.BaselineErrors), num(res.BaselineTotal), pct(res.BaselineRate), res.DHat*100)
	rule := c.rule(res)
	switch res.Outcome {
	case stats.NotEnoughData:
		r.Sentence = fmt.Sprintf("not enough data yet over %s: %s; %s", window, arms, needed(res))
	case stats.Regression:
		r.Verdict, r.outcome = Fail, string(NoGo)
		r.Sentence = fmt.Sprintf("regression beyond the %.2fpp margin established over %s: %s; %s", c.cfg.MarginPP, window, arms, rule)
	case stats.NoRegression:
		r.Verdict, r.outcome = Pass, string(Go)
		r.Sentence = fmt.Sprintf("any regression is within the %.2fpp margin over %s: %s; %s", c.cfg.MarginPP, window, arms, rule)
	default:
		r.Sentence = fmt.Sprintf("undecided over %s: %s; %s", window, arms, rule)
	}
	if l.outcome != "" && k < l.k {
		r.Sentence += fmt.Sprintf(" (decided at look %d; kept for this stage attempt)", k)
	}
	return r
}

func (c errorDeltaCheck) rule(res stats.Result) string {
	if res.Looks == 0 {
		return fmt.Sprintf("confidence sequence at α=%g: ln M(no_go)=%.3f, ln M(go)=%.3f against ln(1/α)=%.3f (S=%.3f, V=%.3f)",
			c.cfg.Alpha, res.LnMNoGo, res.LnMGo, res.Bound, res.S, res.V)
	}
	return fmt.Sprintf("Z(δ)=S/√V=%.3f/√%.3f=%.3f with V=max(V_bin %.3f, %.2f×V_emp %.3f); no_go when Z ≥ %.3f, go when −Z ≥ %.3f (Pocock bound b=%.3f at look %d of %d, skew γ=%.3f, α=%g each way)",
		res.S, res.V, res.Z, res.VBin, res.EmpFactor, res.VEmp, res.NoGoBound, res.GoBound, res.Bound, res.Look, res.Looks, res.Gamma, c.cfg.Alpha)
}

func needed(res stats.Result) string {
	var s string
	switch {
	case res.NeededCanaryRequests > 0 && res.NeededMinutes > 0:
		s = fmt.Sprintf("about %s more canary requests and %d more minute(s) with both arms serving are needed", num(math.Ceil(res.NeededCanaryRequests)), res.NeededMinutes)
	case res.NeededCanaryRequests > 0:
		s = fmt.Sprintf("about %s more canary requests are needed (%.1f canary errors expected at the margin, %d required)", num(math.Ceil(res.NeededCanaryRequests)), res.ExpectedCanaryErrors, stats.DefaultMinExpectedErrors)
	case res.NeededMinutes > 0:
		s = fmt.Sprintf("%d more minute(s) with both arms serving are needed (%d of %d so far)", res.NeededMinutes, res.Minutes, stats.DefaultMinMinutes)
	default:
		s = "more data is needed"
	}
	return s
}
