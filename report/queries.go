package report

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"
)

// The series the report reads. The fleet series are the input contract
// (written by an exporter of the fleet's patch state); the others are
// exported by patchgate and by its recording rules (docs/metrics.md).
const (
	metricAssets           = "patchgate_fleet_assets"
	metricComplianceChecks = "patchgate_fleet_compliance_checks"
	recordedCoverage       = "patchgate:patch_coverage:ratio"
	recordedCompliance     = "patchgate:compliance_pass:ratio"
	metricExposure         = "patchgate_vulnerability_exposure_window_seconds"
)

// ratioSpec describes a ratio the report reads either from its recorded
// series or from the input series, with the recording rule's expression.
type ratioSpec struct {
	name string
	// recorded is the recording rule's series, keyed by cells.
	recorded string
	// cells are the labels of one recorded series.
	cells []string
	// input is the input series; label holds the outcome, good is its
	// passing value and excluded the value left out of the total (none
	// when empty).
	input, label, good, excluded string
}

var (
	coverageSpec = ratioSpec{
		name: "coverage", recorded: recordedCoverage, cells: []string{"cluster", "service", "severity"},
		input: metricAssets, label: "status", good: "patched", excluded: "offline",
	}
	complianceSpec = ratioSpec{
		name: "compliance", recorded: recordedCompliance, cells: []string{"cluster", "service"},
		input: metricComplianceChecks, label: "result", good: "pass",
	}
)

// by is the "by (...)" clause of the spec's cells.
func (r ratioSpec) by() string {
	s := ""
	for i, c := range r.cells {
		if i > 0 {
			s += ", "
		}
		s += c
	}
	return s
}

// expression is the recording rule's expression over the input series
// (slo.LifecycleRules; a test keeps them equal): what the report computes
// when the recorded series are absent.
func (r ratioSpec) expression() string {
	total := r.input
	if r.excluded != "" {
		total = fmt.Sprintf("%s{%s!=%q}", r.input, r.label, r.excluded)
	}
	return fmt.Sprintf(`sum by (%s) (%s{%s=%q}) / (sum by (%s) (%s) > 0)`, r.by(), r.input, r.label, r.good, r.by(), total)
}

// recordedQuery selects the recorded ratios.
func (r ratioSpec) recordedQuery() string { return r.recorded }

// inputQuery counts the input series by cell and outcome; the report sums
// these counts itself (good over all but the excluded outcome), which is
// the expression above at every level of aggregation.
func (r ratioSpec) inputQuery() string {
	return fmt.Sprintf(`sum by (%s, %s) (%s)`, r.by(), r.label, r.input)
}

// leadTimeMetric is the histogram of a lead-time metric.
func leadTimeMetric(metric string) string {
	return "patchgate_patch_" + metric + "_seconds"
}

// Every gate replica exports the same lifecycle series, computed from the
// shared store (internal/lifecycle): the report takes the max across
// replicas of each series before it sums, never the sum of the replicas.

// inPeriod is how much a lifecycle series grew over the window ending at
// the query time: its value now less its value a window ago, or its whole
// value when it did not exist then. Not increase(): the lifecycle series
// are recomputed from the store on every scrape (they never reset), and a
// series born in the window with its first observation (a severity's first
// deployed patch) has no earlier sample, so increase() would miss it.
func inPeriod(series, by string, window time.Duration) string {
	now := fmt.Sprintf("max by (%s) (%s)", by, series)
	then := fmt.Sprintf("max by (%s) (%s offset %s)", by, series, model.Duration(window))
	return fmt.Sprintf("(%s - (%s or %s * 0))", now, then, now)
}

// quantileQuery estimates the q-quantile of a lead time by severity over
// the window ending at the query time.
func quantileQuery(metric string, q float64, window time.Duration) string {
	return fmt.Sprintf(`histogram_quantile(%g, sum by (severity, le) %s)`,
		q, inPeriod(leadTimeMetric(metric)+"_bucket", "severity, service, cluster, le", window))
}

// countQuery counts a lead time's observations by severity over the window.
func countQuery(metric string, window time.Duration) string {
	return fmt.Sprintf(`sum by (severity) %s`, inPeriod(leadTimeMetric(metric)+"_count", "severity, service, cluster", window))
}

// exposureQuery is the longest exposure window by severity, in days.
func exposureQuery() string {
	return fmt.Sprintf(`max by (severity) (%s) / 86400`, metricExposure)
}
