package gate

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

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
	t := c.test(l.K)
	// The history is read with the baseline's two queries (already listed)
	// over the hour before the stage.
	t.Prior = c.history(ctx, l)
	res := t.Evaluate(minutes, max(k, 1))
	r := result(c.name(), Inconclusive, "", queries...)
	r.Observed, r.Threshold, r.Unit = ptr(res.DHat*100), ptr(c.cfg.MarginPP), "percentage points"
	r.Details = res.Details()
	// The sentence leads with what a person checks (the two error rates,
	// their difference and the margin); the statistics that decided stay
	// in Details, with a short "how decided" tail here.
	window := fmt.Sprintf("%s–%s (%d min)", l.start.UTC().Format("15:04"), l.lookEnd(k).UTC().Format("15:04"), k)
	arms := fmt.Sprintf("canary %s errors (%s of %s) against baseline %s (%s of %s): %s",
		percent(res.CanaryRate), num(res.CanaryErrors), num(res.CanaryTotal),
		percent(res.BaselineRate), num(res.BaselineErrors), num(res.BaselineTotal), pp(res.DHat*100))
	margin := fmt.Sprintf("%g pp", c.cfg.MarginPP)
	rule := c.rule(res)
	switch res.Outcome {
	case stats.NotEnoughData:
		r.Sentence = fmt.Sprintf("not enough data yet over %s: %s; %s", window, arms, needed(res))
	case stats.Regression:
		r.Verdict, r.outcome = Fail, string(NoGo)
		r.Sentence = fmt.Sprintf("%s, beyond the %s margin, over %s; %s", arms, margin, window, rule)
	case stats.NoRegression:
		r.Verdict, r.outcome = Pass, string(Go)
		r.Sentence = fmt.Sprintf("%s, within the %s margin, over %s; %s", arms, margin, window, rule)
	default:
		r.Sentence = fmt.Sprintf("%s: not yet clear against the %s margin over %s; %s", arms, margin, window, rule)
	}
	if l.outcome != "" && k < l.k {
		r.Sentence += fmt.Sprintf(" (decided at look %d; kept for this stage attempt)", k)
	}
	return r
}

// historyMinutes is how much of the service's history before the stage
// the dispersion prior reads.
const historyMinutes = 60

// history reads the baseline's requests and errors per minute over the
// hour before the stage started (the minutes ending at start−59m … start)
// and returns their dispersion, the prior for the test's φ̂ (see
// stats.HistoryDispersion). It only ever informs the variance: when it
// cannot be read, the test runs without a prior.
func (c errorDeltaCheck) history(ctx context.Context, l *look) stats.Prior {
	if l.src == nil || l.render == nil {
		return stats.Prior{}
	}
	var queries []string
	for _, expr := range []string{l.service.SLI.Total, l.service.SLI.Errors} {
		q, err := l.render.sli(expr, time.Minute, l.baseline, 60)
		if err != nil {
			return stats.Prior{}
		}
		queries = append(queries, q)
	}
	first := l.start.Add(-(historyMinutes - 1) * time.Minute)
	series := make([]map[int64]float64, len(queries))
	for i, q := range queries {
		mat, err := l.src.rangeQuery(ctx, q, first, l.start, time.Minute)
		if err != nil {
			return stats.Prior{}
		}
		if series[i], err = oneSeries(q, mat); err != nil {
			return stats.Prior{}
		}
	}
	minutes := make([]stats.Minute, historyMinutes)
	for m := range minutes {
		ts := first.Add(time.Duration(m) * time.Minute).UnixMilli()
		minutes[m] = stats.Minute{BaselineTotal: series[0][ts], BaselineErrors: series[1][ts]}
	}
	return stats.HistoryDispersion(minutes)
}

// rule is the short "how decided" tail of the sentence; every number
// behind it is in the check's details.
func (c errorDeltaCheck) rule(res stats.Result) string {
	if res.Looks == 0 {
		return fmt.Sprintf("confidence sequence at α=%g: ln M %.2f (no_go) and %.2f (go) against %.2f",
			c.cfg.Alpha, res.LnMNoGo, res.LnMGo, res.Bound)
	}
	return fmt.Sprintf("sequential test at look %d of %d: Z %.2f, no_go at Z ≥ %.2f, go at Z ≤ −%.2f",
		res.Look, res.Looks, res.Z, res.NoGoBound, res.GoBound)
}

// percent prints a ratio as a percentage a person reads: two decimals,
// or two significant digits below 0.1%.
func percent(v float64) string {
	x := v * 100
	if x != 0 && math.Abs(x) < 0.1 {
		return strconv.FormatFloat(x, 'g', 2, 64) + "%"
	}
	return strconv.FormatFloat(x, 'f', 2, 64) + "%"
}

// pp prints a difference in percentage points with its sign.
func pp(v float64) string {
	return fmt.Sprintf("%+.2f pp", v)
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
