// Package reporttest holds a fixed coverage report for tests of its
// renderings and of the pages that serve it.
package reporttest

import (
	"math"
	"time"

	"github.com/patchgate/patchgate/report"
)

// End is the end of the fixture's period.
var End = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// Report returns a report over the 30 days before End: coverage below
// target for critical patches, two patches open past 14 days, a service
// name that needs escaping, and trends with a gap.
func Report() *report.Report {
	start := End.Add(-30 * 24 * time.Hour)
	step := 24 * time.Hour
	f := func(v float64) *float64 { return &v }
	coverageTarget, complianceTarget, exposureTarget := 95.0, 97.0, 14.0
	targets := report.DefaultTargets()
	targets.Compliance = 0.97
	return &report.Report{
		Title:       "Patch coverage report",
		GeneratedAt: End.Add(17 * time.Second),
		Period:      report.Period{Start: start, End: End, Length: "30d", Step: "1d"},
		DataSource:  "Prometheus HTTP API at http://prometheus:9090",
		Store:       "postgres",
		Targets:     targets,
		Coverage: report.Ratios{
			Source:     "recorded",
			Expression: "patchgate:patch_coverage:ratio",
			Overall:    report.Share{Good: 2565, Total: 2700, Ratio: f(0.95), Status: report.Met},
			BySeverity: []report.Share{
				{Severity: "critical", Good: 810, Total: 900, Ratio: f(0.9), Status: report.Missed},
				{Severity: "high", Good: 885, Total: 900, Ratio: f(885.0 / 900), Status: report.Met},
				{Severity: "medium", Good: 870, Total: 900, Ratio: f(870.0 / 900), Status: report.Met},
			},
			ByCluster: []report.Share{
				{Cluster: "ap-south-1", Good: 840, Total: 900, Ratio: f(840.0 / 900), Status: report.Missed},
				{Cluster: "eu-west-1", Good: 870, Total: 900, Ratio: f(870.0 / 900), Status: report.Met},
				{Cluster: "us-east-1", Good: 855, Total: 900, Ratio: f(0.95), Status: report.Met},
			},
			ByService: []report.Share{
				{Service: "<checkout & co>", Good: 1710, Total: 1800, Ratio: f(0.95), Status: report.Met},
				{Service: "payments", Good: 855, Total: 900, Ratio: f(0.95), Status: report.Met},
				{Service: "search", Total: 0, Status: report.NoData},
			},
		},
		Compliance: report.Ratios{
			Source:     "computed",
			Expression: `sum by (cluster, service) (patchgate_fleet_compliance_checks{result="pass"}) / (sum by (cluster, service) (patchgate_fleet_compliance_checks) > 0)`,
			Overall:    report.Share{Good: 1164, Total: 1200, Ratio: f(0.97), Status: report.Met},
			ByCluster: []report.Share{
				{Cluster: "eu-west-1", Good: 588, Total: 600, Ratio: f(0.98), Status: report.Met},
				{Cluster: "us-east-1", Good: 576, Total: 600, Ratio: f(0.96), Status: report.Missed},
			},
			ByService: []report.Share{
				{Service: "<checkout & co>", Good: 1164, Total: 1200, Ratio: f(0.97), Status: report.Met},
			},
		},
		Exposure: report.Exposure{
			OverTarget: 2,
			Status:     report.Missed,
			Open: []report.OpenPatch{
				{PatchID: "kernel-6.1.119", Severity: "critical", Services: []string{"payments", "search"},
					OpenSince: End.Add(-21*24*time.Hour - 6*time.Hour), DaysOpen: 21.25, Status: report.Missed},
				{PatchID: "glibc-2.36-9", Severity: "high", Services: []string{"<checkout & co>"},
					OpenSince: End.Add(-15 * 24 * time.Hour), DaysOpen: 15, Status: report.Missed},
				{PatchID: "openssl-3.0.15", Severity: "medium", Services: []string{},
					OpenSince: End.Add(-3 * 24 * time.Hour), DaysOpen: 3, Status: report.Met},
			},
			CVEsBySeverity: []report.SeverityCVEs{
				{Severity: "critical", Open: 2, OverTarget: 2, OldestDays: 21.25, Status: report.Missed},
				{Severity: "high", Status: report.Met},
				{Severity: "medium", Open: 1, OldestDays: 3, Status: report.Met},
				{Severity: "low", Status: report.Met},
				{Severity: "unknown", Status: report.Met},
			},
			CVEs: []report.OpenCVE{
				{CVE: "CVE-2026-1234", Severity: "critical", PatchID: "kernel-6.1.119", Services: []string{"payments", "search"},
					Assets: []string{"node-img:2026.11"}, OpenSince: End.Add(-21*24*time.Hour - 6*time.Hour), DaysOpen: 21.25, Status: report.Missed},
				{CVE: "CVE-2026-1301", Severity: "critical", PatchID: "kernel-6.1.119", Services: []string{"payments", "search"},
					Assets: []string{"node-img:2026.11"}, OpenSince: End.Add(-21*24*time.Hour - 6*time.Hour), DaysOpen: 21.25, Status: report.Missed},
				{CVE: "CVE-2026-<script>", Severity: "medium", PatchID: "openssl-3.0.15", Services: []string{},
					Assets: []string{"<registry>/checkout:1.42"}, OpenSince: End.Add(-3 * 24 * time.Hour), DaysOpen: 3, Status: report.Met},
			},
		},
		LeadTimes: []report.LeadTime{
			{Metric: report.TimeToDiscover, Severity: "critical", Count: 4, P50: f(3 * 3600), P90: f(20 * 3600), Target: 86400, Status: report.Met},
			{Metric: report.TimeToDiscover, Severity: "high", Count: 9, P50: f(10 * 3600), P90: f(30 * 3600), Target: 86400, Status: report.Missed},
			{Metric: report.TimeToTest, Severity: "critical", Count: 4, P50: f(20 * 3600), P90: f(50 * 3600), Target: 259200, Status: report.Met},
			{Metric: report.TimeToTest, Severity: "high", Count: 0, Target: 259200, Status: report.NoData},
			{Metric: report.TimeToDeploy, Severity: "critical", Count: 3, P50: f(2.5 * 86400), P90: f(6 * 86400), Target: 604800, Status: report.Met},
			{Metric: report.TimeToDeploy, Severity: "high", Count: 8, P50: f(4 * 86400), P90: f(9.5 * 86400), Target: 604800, Status: report.Missed},
		},
		Rollbacks: report.Counts{Total: 3, ByService: []report.KeyCount{{Key: "payments", Count: 2}, {Key: "<checkout & co>", Count: 1}}},
		Incidents: report.Counts{Total: 1, ByService: []report.KeyCount{{Key: "payments", Count: 1}}},
		Trends: []report.Trend{
			{ID: "coverage", Title: "Patch coverage by severity", Unit: "%", Target: &coverageTarget, Series: []report.Series{
				wave("all", start, step, 30, 90, 5, 0),
				wave("critical", start, step, 30, 82, 8, 1),
				wave("high", start, step, 30, 92, 6, 2),
				gap(wave("medium", start, step, 30, 94, 3, 3), 10, 14),
			}},
			{ID: "exposure", Title: "Longest exposure window by severity", Unit: "days", Target: &exposureTarget, Series: []report.Series{
				wave("critical", start, step, 30, 15, 6, 0),
				wave("high", start, step, 30, 9, 5, 1),
			}},
			{ID: "compliance", Title: "Compliance pass rate by cluster", Unit: "%", Target: &complianceTarget, Series: []report.Series{
				wave("all", start, step, 30, 96, 2, 0),
				wave("eu-west-1", start, step, 30, 97, 1.5, 1),
				wave("us-east-1", start, step, 30, 95, 2.5, 2),
			}},
			{ID: "rollbacks_incidents", Title: "Rollbacks and patch-induced incidents per 1d", Unit: "events", Series: []report.Series{
				spikes("rollbacks", start, step, 30, 8, 14, 22),
				spikes("incidents", start, step, 30, 14),
			}},
		},
		Notes: []string{
			"Compliance computed from patchgate_fleet_compliance_checks: the recording rule's series patchgate:compliance_pass:ratio is absent.",
			"Lead-time percentiles are estimated from histogram buckets (histogram_quantile), so they are as precise as the buckets.",
		},
	}
}

// wave is a slow rise with a ripple: base + amp·(k/n) + ripple, rounded to
// 0.01 so the golden files stay short.
func wave(name string, start time.Time, step time.Duration, n int, base, amp float64, phase int) report.Series {
	s := report.Series{Name: name}
	for k := 0; k <= n; k++ {
		v := base + amp*float64(k)/float64(n) + 0.8*math.Sin(float64(k+phase)/5)
		s.Points = append(s.Points, report.Point{T: start.Add(time.Duration(k) * step), V: math.Round(v*100) / 100})
	}
	return s
}

// gap drops the points from i to j.
func gap(s report.Series, i, j int) report.Series {
	s.Points = append(s.Points[:i:i], s.Points[j:]...)
	return s
}

// spikes is zero except one event at each of the given steps.
func spikes(name string, start time.Time, step time.Duration, n int, at ...int) report.Series {
	s := report.Series{Name: name}
	for k := 0; k <= n; k++ {
		v := 0.0
		for _, a := range at {
			if a == k {
				v = 1
			}
		}
		s.Points = append(s.Points, report.Point{T: start.Add(time.Duration(k) * step), V: v})
	}
	return s
}
