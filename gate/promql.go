package gate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/slo"
)

// promqlCheck is a user's query held against thresholds at every look of
// the stage attempt, in the manner of an Argo Rollouts analysis metric:
// it fails once more than failure_limit looks breached, passes once the
// latest consecutive_successes looks all passed, and waits otherwise.
//
// It keeps no state: one range query (step 1m) recomputes every look of
// the attempt so far, each point being what the query returns at the end
// of that look.
type promqlCheck struct{ cfg config.PromQLCheck }

func (c promqlCheck) name() string { return "promql:" + c.cfg.Name }

// query renders the check's query for one arm: {{.window}} set, templated
// label values filled from the request as escaped values, and the arm's
// selector added to every series selector.
func (c promqlCheck) query(l *look, arm []*labels.Matcher) (string, error) {
	e, err := slo.Parse(c.cfg.Query, time.Duration(c.cfg.Window))
	if err != nil {
		return "", err
	}
	var fillErr error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok || fillErr != nil {
			return nil
		}
		for i, m := range vs.LabelMatchers {
			if !strings.Contains(m.Value, "{{") {
				continue
			}
			// The matcher is printed by the parser and read back as a
			// selector template: the request's values become escaped
			// label values, never PromQL text.
			t, err := slo.ParseSelector((&parser.VectorSelector{LabelMatchers: []*labels.Matcher{m}}).String())
			if err != nil {
				fillErr = err
				return nil
			}
			filled, err := t.Fill(l.vars)
			if err != nil {
				fillErr = err
				return nil
			}
			vs.LabelMatchers[i] = filled[0]
		}
		return nil
	})
	if fillErr != nil {
		return "", fillErr
	}
	slo.AddMatchers(e, arm)
	return e.String(), nil
}

// measurement is the check's value at one look.
type measurement struct {
	value            float64
	canary, baseline float64
	why              string // set when there is no value
}

func (c promqlCheck) run(ctx context.Context, l *look) CheckResult {
	arms := [][]*labels.Matcher{l.canary}
	if c.cfg.Compare == config.CompareBaseline {
		arms = append(arms, l.baseline)
	}
	queries := make([]string, len(arms))
	for i, arm := range arms {
		q, err := c.query(l, arm)
		var missing *slo.MissingParamError
		if errors.As(err, &missing) {
			return noData(c.name(), fmt.Sprintf("the query needs params.%s, which the request did not send", missing.Param))
		}
		if err != nil {
			return noData(c.name(), fmt.Sprintf("the query cannot be built: %v", err))
		}
		queries[i] = q
	}
	if l.k < 1 {
		return noData(c.name(), "no completed minute of the stage yet", queries...)
	}
	mats, err := l.minuteRange(ctx, l.k, queries)
	if err != nil {
		return sourceError(c.name(), err, queries...)
	}

	looks := make([]measurement, l.k)
	failures := 0
	var firstFailures []string
	for j := 1; j <= l.k; j++ {
		ts := l.lookEnd(j).UnixMilli()
		m := &looks[j-1]
		var vals [2]float64
		for i, mat := range mats {
			v, why := pointAt(mat, ts)
			if why != "" {
				m.why = fmt.Sprintf("%s: %s", armName(i), why)
				break
			}
			vals[i] = v
		}
		if m.why == "" {
			m.canary, m.baseline, m.value, m.why = c.combine(vals)
		}
		if m.why == "" && !c.passes(m.value) {
			failures++
			if len(firstFailures) < 3 {
				firstFailures = append(firstFailures, fmt.Sprintf("look %d (%s): %s", j, l.lookEnd(j).UTC().Format("15:04"), num(m.value)))
			}
		}
	}

	last := looks[l.k-1]
	r := result(c.name(), Inconclusive, "", queries...)
	r.Threshold = c.threshold()
	r.Unit = c.unit()
	r.Details = map[string]float64{
		"look": float64(l.k), "failures": float64(failures),
		"failure_limit": float64(c.cfg.FailureLimit), "consecutive_successes": float64(c.cfg.ConsecutiveSuccesses),
	}
	if last.why == "" {
		r.Observed = ptr(last.value)
		r.Details["value"] = last.value
		if c.cfg.Compare != "" {
			r.Details["canary"], r.Details["baseline"] = last.canary, last.baseline
		}
	}
	streak := 0
	for j := l.k - 1; j >= 0 && looks[j].why == "" && c.passes(looks[j].value); j-- {
		streak++
	}
	tally := fmt.Sprintf("%d of %d look(s) breached %s (failure_limit %d)", failures, l.k, c.rule(), c.cfg.FailureLimit)
	if len(firstFailures) > 0 {
		tally += ": " + strings.Join(firstFailures, ", ")
	}
	now := c.describe(last, l.lookEnd(l.k))
	switch {
	case failures > c.cfg.FailureLimit:
		r.Verdict = Fail
		r.Sentence = fmt.Sprintf("%s; %s", tally, now)
	case last.why != "":
		r.missingData = true
		r.Sentence = fmt.Sprintf("no usable value at the latest look, which is never a pass: %s; %s", now, tally)
	case streak >= c.cfg.ConsecutiveSuccesses:
		r.Verdict = Pass
		r.Sentence = fmt.Sprintf("%s; the latest %d look(s) passed; %s", now, streak, tally)
	default:
		r.Sentence = fmt.Sprintf("%s; %d consecutive passing look(s) of the %d required; %s", now, streak, c.cfg.ConsecutiveSuccesses, tally)
	}
	return r
}

// pointAt returns the one value the query has at ts, or why there is none.
func pointAt(mat model.Matrix, ts int64) (float64, string) {
	var vals []float64
	var series []string
	for _, s := range mat {
		for _, p := range s.Values {
			if int64(p.Timestamp) == ts {
				vals = append(vals, float64(p.Value))
				series = append(series, s.Metric.String())
			}
		}
	}
	switch {
	case len(vals) == 0:
		return 0, "the query returned no series"
	case len(vals) > 1:
		if len(series) > 3 {
			series = append(series[:3], "…")
		}
		return 0, fmt.Sprintf("the query returned %d series where one is expected (%s); aggregate it, e.g. with max() or sum()", len(vals), strings.Join(series, ", "))
	case math.IsNaN(vals[0]):
		return 0, "the query returned NaN"
	case math.IsInf(vals[0], 0):
		return 0, "the query returned an infinity"
	}
	return vals[0], ""
}

// combine turns the arms' values into the value the thresholds apply to.
func (c promqlCheck) combine(vals [2]float64) (canary, baseline, value float64, why string) {
	canary, baseline = vals[0], vals[1]
	switch {
	case c.cfg.Compare == "":
		return canary, 0, canary, ""
	case c.cfg.By == config.ByDifference:
		return canary, baseline, canary - baseline, ""
	case baseline == 0:
		return canary, baseline, 0, fmt.Sprintf("the baseline is 0, so canary/baseline (canary %s) is undefined; by: difference compares counts that may be 0", num(canary))
	}
	return canary, baseline, canary / baseline, ""
}

func (c promqlCheck) passes(v float64) bool {
	return (c.cfg.Below == nil || v < *c.cfg.Below) && (c.cfg.Above == nil || v > *c.cfg.Above)
}

func (c promqlCheck) threshold() *float64 {
	if c.cfg.Below != nil {
		return ptr(*c.cfg.Below)
	}
	return ptr(*c.cfg.Above)
}

func (c promqlCheck) unit() string {
	switch {
	case c.cfg.Compare == "":
		return ""
	case c.cfg.By == config.ByDifference:
		return "canary − baseline"
	}
	return "canary / baseline"
}

// rule says what a look must satisfy, e.g. "below 1.2".
func (c promqlCheck) rule() string {
	var parts []string
	if c.cfg.Above != nil {
		parts = append(parts, "above "+num(*c.cfg.Above))
	}
	if c.cfg.Below != nil {
		parts = append(parts, "below "+num(*c.cfg.Below))
	}
	return "the threshold (" + strings.Join(parts, " and ") + ")"
}

func (c promqlCheck) describe(m measurement, at time.Time) string {
	when := at.UTC().Format("15:04")
	switch {
	case m.why != "":
		return fmt.Sprintf("at %s %s", when, m.why)
	case c.cfg.Compare == "":
		return fmt.Sprintf("the canary's value at %s is %s", when, num(m.value))
	}
	return fmt.Sprintf("%s at %s is %s (canary %s, baseline %s)", c.unit(), when, num(m.value), num(m.canary), num(m.baseline))
}
