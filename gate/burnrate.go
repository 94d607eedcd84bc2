package gate

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/config"
)

// burnRateCheck is the SRE workbook's multi-window burn-rate test on the
// whole service: a pair fails when both its long and short windows burn
// the error budget faster than its factor. It also fails when the budget
// left over the SLO period is below the minimum.
type burnRateCheck struct{ cfg config.BurnRate }

func (burnRateCheck) name() string { return "burn_rate" }

// windowRatio is the error ratio over one window, from two queries.
type windowRatio struct {
	window        time.Duration
	errors, total float64
	ratio         float64
	traffic       bool
	errQ, totalQ  string
	err           error
}

func (c burnRateCheck) run(ctx context.Context, l *look) CheckResult {
	budget := 1 - l.service.SLO.Objective/100
	period := time.Duration(l.service.SLO.Period)
	var windows []time.Duration
	seen := map[time.Duration]bool{}
	add := func(d time.Duration) {
		if !seen[d] {
			seen[d] = true
			windows = append(windows, d)
		}
	}
	for _, w := range c.cfg.Windows {
		add(time.Duration(w.Long))
		add(time.Duration(w.Short))
	}
	add(period)

	// With Sloth's rules deployed, read the ratios they record instead
	// of running the SLI queries (burnrate_sloth.go).
	measure := l.ratio
	if l.service.SLO.SlothRulesDeployed {
		measure = l.slothRatio
	}
	ratios := make([]windowRatio, len(windows))
	for i, err := range each(len(windows), func(i int) error {
		ratios[i] = measure(ctx, windows[i])
		return nil
	}) {
		if err != nil {
			ratios[i] = windowRatio{window: windows[i], err: err}
		}
	}
	byWindow := map[time.Duration]windowRatio{}
	var queries []string
	for _, r := range ratios {
		for _, q := range []string{r.errQ, r.totalQ} {
			if q != "" {
				queries = append(queries, q)
			}
		}
		if r.err != nil {
			return sourceError(c.name(), r.err, queries...)
		}
		byWindow[r.window] = r
	}

	res := result(c.name(), Pass, "", queries...)
	res.Details = map[string]float64{"objective": l.service.SLO.Objective / 100, "error_budget": budget}
	var parts, failing, missing []string
	worst, worstFactor := math.Inf(-1), 0.0
	for _, w := range c.cfg.Windows {
		long, short := byWindow[time.Duration(w.Long)], byWindow[time.Duration(w.Short)]
		if !long.traffic || !short.traffic {
			missing = append(missing, fmt.Sprintf("%s/%s", model.Duration(w.Long), model.Duration(w.Short)))
			continue
		}
		lb, sb := long.ratio/budget, short.ratio/budget
		res.Details["burn_"+model.Duration(w.Long).String()] = lb
		res.Details["burn_"+model.Duration(w.Short).String()] = sb
		res.Details["limit_"+model.Duration(w.Long).String()+"_"+model.Duration(w.Short).String()] = w.Factor
		parts = append(parts, fmt.Sprintf("%s/%s burning %.2f×/%.2f× against a limit of %g×",
			model.Duration(w.Long), model.Duration(w.Short), lb, sb, w.Factor))
		if eff := math.Min(lb, sb); eff/w.Factor > worst/math.Max(worstFactor, 1e-12) || worstFactor == 0 {
			worst, worstFactor = eff, w.Factor
		}
		if lb > w.Factor && sb > w.Factor {
			failing = append(failing, fmt.Sprintf("%s/%s", model.Duration(w.Long), model.Duration(w.Short)))
		}
	}
	if worstFactor > 0 {
		res.Observed, res.Threshold, res.Unit = ptr(worst), ptr(worstFactor), "× budget burn"
	}
	pr := byWindow[period]
	remaining := math.NaN()
	if pr.traffic {
		remaining = 1 - pr.ratio/budget
		res.Details["budget_remaining"] = remaining
		parts = append(parts, fmt.Sprintf("%s of the %s error budget left (minimum %s)",
			pct(remaining), model.Duration(period), pct(c.cfg.MinBudgetRemaining)))
	}
	explain := fmt.Sprintf("%s (burn rate = error ratio ÷ the %s error budget of a %g%% objective)",
		strings.Join(parts, "; "), pct(budget), l.service.SLO.Objective)
	switch {
	case len(failing) > 0:
		res.Verdict = Fail
		res.Sentence = fmt.Sprintf("the service burns its error budget too fast in the %s window pair(s); %s", strings.Join(failing, ", "), explain)
	case pr.traffic && (remaining <= 0 || remaining < c.cfg.MinBudgetRemaining):
		res.Verdict = Fail
		res.Sentence = "the error budget is spent; " + explain
	case len(missing) > 0 || !pr.traffic:
		if !pr.traffic {
			missing = append(missing, model.Duration(period).String())
		}
		r := noData(c.name(), fmt.Sprintf("no requests measured over the %s window(s)%s, so the burn rate is unknown; %s",
			strings.Join(missing, ", "), slothMissingHint(l), explain), queries...)
		r.Details = res.Details
		return r
	default:
		res.Sentence = "the error budget burn is within every window pair's limit; " + explain
	}
	return res
}

// ratio measures the service's error ratio over w. Absent errors with
// present requests are zero errors; absent or zero requests are no traffic.
func (l *look) ratio(ctx context.Context, w time.Duration) windowRatio {
	r := windowRatio{window: w}
	var err error
	if r.errQ, err = renderSLI(l.render, l.service.SLI.Errors, w, nil, "", 0); err != nil {
		r.err = err
		return r
	}
	if r.totalQ, err = renderSLI(l.render, l.service.SLI.Total, w, nil, "", 0); err != nil {
		r.err = err
		return r
	}
	total, ok, err := l.src.instantOne(ctx, r.totalQ, l.at)
	if err != nil {
		r.err = err
		return r
	}
	if !ok || !finite(total) || total <= 0 {
		return r
	}
	errs, ok, err := l.src.instantOne(ctx, r.errQ, l.at)
	if err != nil {
		r.err = err
		return r
	}
	if !ok {
		errs = 0
	}
	if !finite(errs) || errs < 0 {
		return r
	}
	r.errors, r.total, r.traffic = errs, total, true
	r.ratio = math.Min(errs/total, 1)
	return r
}
