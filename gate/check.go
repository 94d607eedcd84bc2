package gate

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"sync"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/numfmt"
)

// check is one thing the gate verifies: a metric check (error delta,
// traffic, burn rate, alerts, freshness) or an operator control (window,
// freeze, concurrency). Every check implements it, and returns its
// verdict with the numbers behind it; only decide combines them.
type check interface {
	name() string
	run(ctx context.Context, l *look) CheckResult
}

// metricChecks returns the stage's metric checks in a fixed order. They
// run once per look of a stage attempt.
//
// The sequential checks of a stage (error_delta, latency_delta) split α:
// with m of them on, each runs at its configured α/m (Bonferroni), so the
// stage's false no_go and false go stay at most α whichever check would
// err (see gate/stats, "Several checks").
func metricChecks(c config.Checks) []check {
	var out []check
	sequential := 0
	if c.ErrorDelta != nil {
		sequential++
	}
	if c.LatencyDelta != nil {
		sequential++
	}
	if sequential > 1 {
		ed, ld := *c.ErrorDelta, *c.LatencyDelta
		ed.Alpha /= float64(sequential)
		ld.Alpha /= float64(sequential)
		c.ErrorDelta, c.LatencyDelta = &ed, &ld
	}
	if c.Freshness != nil {
		out = append(out, freshnessCheck{cfg: *c.Freshness})
	}
	if c.MinTraffic != nil {
		out = append(out, trafficCheck{cfg: *c.MinTraffic})
	}
	if c.ErrorDelta != nil {
		out = append(out, errorDeltaCheck{cfg: *c.ErrorDelta})
	}
	if c.LatencyDelta != nil {
		out = append(out, newLatencyDeltaCheck(*c.LatencyDelta, sequential))
	}
	for _, q := range c.PromQL {
		out = append(out, promqlCheck{cfg: q})
	}
	if c.BurnRate != nil {
		out = append(out, burnRateCheck{cfg: *c.BurnRate})
	}
	if c.Alerts != nil {
		out = append(out, alertsCheck{cfg: *c.Alerts})
	}
	return out
}

// runChecks runs checks concurrently, each in a goroutine that recovers:
// a check that panics is that check's failure, never the process's.
func runChecks(ctx context.Context, l *look, checks []check) []CheckResult {
	results := make([]CheckResult, len(checks))
	each(len(checks), func(i int) error {
		results[i] = runCheck(ctx, l, checks[i])
		return nil
	})
	return results
}

// each runs fn(0) … fn(n-1) concurrently and waits for all of them. A
// panic in one is that one's error, never the process's.
func each(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errs[i] = fmt.Errorf("internal error: panic: %v", p)
				}
			}()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errs
}

// runCheck runs one check, turning a panic into its failure.
func runCheck(ctx context.Context, l *look, c check) (r CheckResult) {
	defer func() {
		if p := recover(); p != nil {
			r = result(c.name(), Fail, fmt.Sprintf("the check failed with an internal error and cannot pass: panic: %v", p))
			if l.logger != nil {
				l.logger.Error("check panicked", "check", c.name(), "panic", p, "stack", string(debug.Stack()))
			}
		}
	}()
	return c.run(ctx, l)
}

func result(name string, v CheckVerdict, sentence string, queries ...string) CheckResult {
	if queries == nil {
		queries = []string{}
	}
	return CheckResult{Name: name, Verdict: v, Sentence: sentence, Queries: queries}
}

func sourceError(name string, err error, queries ...string) CheckResult {
	r := result(name, Inconclusive, fmt.Sprintf("the metric source failed, so this check cannot pass: %v", err), queries...)
	r.missingData = true
	return r
}

func noData(name, sentence string, queries ...string) CheckResult {
	r := result(name, Inconclusive, sentence, queries...)
	r.missingData = true
	return r
}

// ptr returns a pointer to v, or nil when v is not a finite number:
// JSON has no NaN or infinity, and an answer must always encode.
func ptr(v float64) *float64 {
	if !finite(v) {
		return nil
	}
	return &v
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// dropNonFinite removes the details that are not finite numbers, which
// JSON cannot encode: an answer must always encode.
func dropNonFinite(results []CheckResult) {
	for _, r := range results {
		for k, v := range r.Details {
			if !finite(v) {
				delete(r.Details, k)
			}
		}
	}
}

// num prints a count with thousands separators, or a ratio compactly.
func num(v float64) string {
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return numfmt.Grouped(v, 0)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// pct prints a ratio as a percentage.
func pct(v float64) string { return strconv.FormatFloat(v*100, 'f', 3, 64) + "%" }
