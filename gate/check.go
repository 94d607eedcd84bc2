package gate

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/internal/config"
)

// check is one thing the gate verifies. Every check implements it; the
// list for a stage is built from its effective configuration.
type check interface {
	name() string
	run(ctx context.Context, l *look) CheckResult
}

// checksFor returns the stage's checks in a fixed order.
func checksFor(c config.Checks) []check {
	var out []check
	if c.Freshness != nil {
		out = append(out, freshnessCheck{cfg: *c.Freshness})
	}
	if c.MinTraffic != nil {
		out = append(out, trafficCheck{cfg: *c.MinTraffic})
	}
	if c.ErrorDelta != nil {
		out = append(out, errorDeltaCheck{cfg: *c.ErrorDelta})
	}
	if c.BurnRate != nil {
		out = append(out, burnRateCheck{cfg: *c.BurnRate})
	}
	if c.Alerts != nil {
		out = append(out, alertsCheck{cfg: *c.Alerts})
	}
	return out
}

// missingData marks a result that is inconclusive for want of data or
// because the source failed: such a result never turns into go, even when
// the stage times out under on_timeout: go.
const missingData = "missing_data"

func result(name string, v CheckVerdict, sentence string, queries ...string) CheckResult {
	if queries == nil {
		queries = []string{}
	}
	return CheckResult{Name: name, Verdict: v, Sentence: sentence, Queries: queries}
}

func sourceError(name string, err error, queries ...string) CheckResult {
	r := result(name, Inconclusive, fmt.Sprintf("the metric source failed, so this check cannot pass: %v", err), queries...)
	r.Details = map[string]float64{missingData: 1}
	return r
}

func noData(name, sentence string, queries ...string) CheckResult {
	r := result(name, Inconclusive, sentence, queries...)
	r.Details = map[string]float64{missingData: 1}
	return r
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// num prints a count with thousands separators, or a ratio compactly.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		s := strconv.FormatInt(int64(math.Abs(v)), 10)
		var b strings.Builder
		if v < 0 {
			b.WriteByte('-')
		}
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	if math.Abs(v) >= 100 {
		return num(math.Round(v))
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// pct prints a ratio as a percentage.
func pct(v float64) string { return strconv.FormatFloat(v*100, 'f', 3, 64) + "%" }
