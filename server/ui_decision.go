package server

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/gate"
)

// thresholdText is a check's threshold as the decision page shows it:
// the burn-rate check has one limit per window pair (its details'
// limit_<long>_<short>), which are all shown; other checks have one.
func thresholdText(c gate.CheckResult) string {
	var limits []string
	for k := range c.Details {
		if strings.HasPrefix(k, "limit_") {
			limits = append(limits, k)
		}
	}
	if len(limits) == 0 {
		if c.Threshold == nil {
			return "—"
		}
		return formatValue(c.Threshold) + " " + c.Unit
	}
	// The highest limit (the shortest windows, the page pair) first.
	slices.SortFunc(limits, func(a, b string) int {
		if n := cmpFloat(c.Details[b], c.Details[a]); n != 0 {
			return n
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(limits))
	for i, k := range limits {
		v := c.Details[k]
		parts[i] = fmt.Sprintf("%s× (%s)", strconv.FormatFloat(v, 'g', 4, 64), limitPair(k))
	}
	return strings.Join(parts, ", ")
}

// limitPair turns "limit_1h_5m" into "1h/5m".
func limitPair(key string) string {
	return strings.Replace(strings.TrimPrefix(key, "limit_"), "_", "/", 1)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// observedText is a check's observed value with its unit; counts of
// requests are whole numbers (the counters are extrapolated, so 21,548.3
// requests is 21,548 to a reader).
func observedText(c gate.CheckResult) string {
	if c.Observed == nil {
		return "—"
	}
	v := *c.Observed
	if c.Unit == "requests" && !math.IsNaN(v) && !math.IsInf(v, 0) {
		v = math.Round(v)
	}
	return formatValue(&v) + " " + c.Unit
}

// statsFormula rebuilds the arithmetic of a check's test from its
// details, for the statistics block of the decision page; "" when the
// check has none. Only error_delta and latency_delta (the same test)
// have it.
func statsFormula(c gate.CheckResult) string {
	d := c.Details
	if _, ok := d["z"]; !ok {
		if _, ok := d["ln_m_no_go"]; !ok {
			return ""
		}
	}
	if d["looks"] == 0 {
		return fmt.Sprintf("confidence sequence at α=%g: ln M(no_go)=%.3f, ln M(go)=%.3f against ln(1/α)=%.3f (S=%.3f, V=%.3f)",
			d["alpha"], d["ln_m_no_go"], d["ln_m_go"], d["bound"], d["s"], d["v"])
	}
	return fmt.Sprintf("Z(δ)=S/√V=%.3f/√%.3f=%.3f with V=V_bin·max(1, f·φ̂)=%.3f·max(1, %.2f×%.3f) "+
		"(φ̂ the errors' dispersion over both arms, %g degrees of freedom, %g of them from the hour before the stage); "+
		"no_go when Z ≥ %.3f, go when −Z ≥ %.3f (Pocock bound b=%.3f at look %g of %g, skew γ=%.3f, α=%g each way)",
		d["s"], d["v"], d["z"], d["v_bin"], d["emp_factor"], d["phi"], d["df"], d["prior_df"],
		d["no_go_bound"], d["go_bound"], d["bound"], d["look"], d["looks"], d["gamma"], d["alpha"])
}
