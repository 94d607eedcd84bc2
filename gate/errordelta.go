package gate

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
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
	if s := skippedMinutes(minutes); s != "" {
		arms += "; " + s
	}
	margin := fmt.Sprintf("%g pp", c.cfg.MarginPP)
	rule := c.rule(res)
	switch res.Outcome {
	case stats.NotEnoughData:
		r.Sentence = fmt.Sprintf("not enough data yet over %s: %s; %s", window, arms, needed(res, l.K-k, "error"))
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
	if l.outcome == "" {
		futility(&r, t.Futility(res), l)
	}
	return r
}

// futility marks a waiting result whose decision is out of reach before
// max_wait: Details["futile"] = 1 and a sentence saying why. The stage
// answers its on_timeout at once when every waiting metric check is futile
// and its on_futility is "answer" (the engine decides that, not the
// check).
func futility(r *CheckResult, f stats.Futility, l *look) {
	if !f.Futile {
		return
	}
	r.Details["futile"], r.futile = 1, true
	switch f.Reason {
	case "data":
		r.Sentence += fmt.Sprintf("; at this traffic the test cannot start within the %s left before max_wait", plural(f.LooksLeft, "minute"))
	case "power":
		r.Details["futility_power_no_go"] = f.PowerNoGo
		r.Details["futility_power_go"] = f.PowerGo
		r.Sentence += fmt.Sprintf("; at this traffic and this difference, neither go nor no_go is within reach in the %s left before max_wait (chance of reaching no_go %s, go %s)",
			plural(f.LooksLeft, "minute"), chance(f.PowerNoGo), chance(f.PowerGo))
	}
	if l.stage != nil && l.stage.OnFutility == config.FutilityWait {
		r.Sentence += " (on_futility: wait, so the stage waits out max_wait)"
	}
}

// chance prints a probability a person reads: "0.4%", "0.07%" or
// "below 0.01%".
func chance(p float64) string {
	if p < 0.0001 {
		return "below 0.01%"
	}
	return strconv.FormatFloat(100*p, 'g', 2, 64) + "%"
}

// plural prints a count with its noun, "1 minute", "3 minutes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return num(float64(n)) + " " + noun + "s"
}

// skippedMinutes names the minutes the test left out because an arm served
// nothing, "" when there are none.
func skippedMinutes(minutes []stats.Minute) string {
	var canary, baseline, both []string
	for i, m := range minutes {
		c, b := m.CanaryTotal > 0, m.BaselineTotal > 0
		switch {
		case !c && !b:
			both = append(both, strconv.Itoa(i+1))
		case !c:
			canary = append(canary, strconv.Itoa(i+1))
		case !b:
			baseline = append(baseline, strconv.Itoa(i+1))
		}
	}
	var parts []string
	for _, g := range []struct {
		ms  []string
		why string
	}{{canary, "the canary served nothing"}, {baseline, "the baseline served nothing"}, {both, "neither arm served"}} {
		if len(g.ms) == 0 {
			continue
		}
		noun := "minute "
		if len(g.ms) > 1 {
			noun = "minutes "
		}
		parts = append(parts, noun+strings.Join(g.ms, ", ")+" ("+g.why+")")
	}
	if len(parts) == 0 {
		return ""
	}
	return "left out: " + strings.Join(parts, "; ")
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
	// The hour before a stage does not change: read it once per stage
	// window and baseline, not at every look.
	key := priorKey{service: l.service.Name, baseline: l.baselineText, start: l.start.UnixMilli()}
	if p, ok := l.priors.get(key); ok {
		return p
	}
	var queries []string
	for _, expr := range []string{l.service.SLI.Total, l.service.SLI.Errors} {
		q, err := renderSLI(l.render, expr, time.Minute, l.baseline, l.baselineText, 60)
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
	p := stats.HistoryDispersion(minutes)
	l.priors.put(key, p)
	return p
}

// rule is the short "how decided" tail of the sentence; every number
// behind it is in the check's details.
func (c errorDeltaCheck) rule(res stats.Result) string {
	if res.Looks == 0 {
		return fmt.Sprintf("confidence sequence at α=%g, wrong at most %s of the time each way however often it is asked: ln M %.2f (no_go) and %.2f (go) against %.2f%s",
			c.cfg.Alpha, percentOf(res.Alpha), res.LnMNoGo, res.LnMGo, res.Bound, scatter(res))
	}
	return fmt.Sprintf("sequential test at look %d of %d, wrong at most %s of the time each way however often it is asked: Z %.2f, no_go at Z ≥ %.2f, go at Z ≤ −%.2f%s",
		res.Look, res.Looks, percentOf(res.Alpha), res.Z, res.NoGoBound, res.GoBound, scatter(res))
}

// percentOf prints a level such as 0.05 as "5%".
func percentOf(a float64) string { return strconv.FormatFloat(100*a, 'g', 3, 64) + "%" }

// scatter says how much the errors scatter beyond binomial and what the
// estimate rests on, when the test allowed for it.
func scatter(res stats.Result) string {
	if !(res.Phi > 1) || !(res.V > res.VBin) {
		return ""
	}
	from := plural(res.Minutes, "minute")
	if res.PriorDF > 0 {
		from += " and the hour before the stage"
	}
	return fmt.Sprintf("; errors scatter %.1f× as much as binomial ones (from %s), which widens the variance %.1f×",
		res.Phi, from, res.V/res.VBin)
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

// needed says what the test still needs before it can decide anything,
// within what the stage can still see: looksLeft minutes before max_wait.
// unit names what is counted ("error", "slow request").
func needed(res stats.Result, looksLeft int, unit string) string {
	requests := num(math.Ceil(res.NeededCanaryRequests))
	switch {
	case res.NeededMinutes > looksLeft && res.NeededCanaryRequests > 0:
		return fmt.Sprintf("about %s more canary requests are needed, more than the %s left before max_wait bring at this traffic (%s expected at the margin, %d required)",
			requests, plural(looksLeft, "minute"), expected(res.ExpectedCanaryErrors, unit), stats.DefaultMinExpectedErrors)
	case res.NeededCanaryRequests > 0 && res.NeededMinutes > 0:
		return fmt.Sprintf("about %s more canary requests and %s with both arms serving are needed", requests, plural(res.NeededMinutes, "more minute"))
	case res.NeededCanaryRequests > 0:
		return fmt.Sprintf("about %s more canary requests are needed (%s expected at the margin, %d required)", requests, expected(res.ExpectedCanaryErrors, unit), stats.DefaultMinExpectedErrors)
	case res.NeededMinutes > looksLeft:
		return fmt.Sprintf("%s with both arms serving are needed (%d of %d so far), more than the %s left before max_wait", plural(res.NeededMinutes, "more minute"), res.Minutes, stats.DefaultMinMinutes, plural(looksLeft, "minute"))
	case res.NeededMinutes > 0:
		return fmt.Sprintf("%s with both arms serving are needed (%d of %d so far)", plural(res.NeededMinutes, "more minute"), res.Minutes, stats.DefaultMinMinutes)
	}
	return "more data is needed"
}

// expected prints the canary count expected at the margin with its noun:
// "1.0 canary error", "3.2 canary errors".
func expected(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', 1, 64) + " canary " + unit
	if s != "1.0 canary "+unit {
		s += "s"
	}
	return s
}
