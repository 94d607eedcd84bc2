// Package report is the executive coverage report: patch coverage, the
// vulnerability exposure window, compliance, time-to-discover, -test and
// -deploy, rollbacks and incidents over a period, against their targets.
//
// Build gathers the numbers (range queries through a Querier, patch events
// from the store) into a Report; WriteHTML, WriteCSV and WriteJSON render a
// Report without querying anything, so rendering is tested from fixed data.
// The HTML is one self-contained file: inline CSS, charts as inline SVG
// drawn with gonum/plot, no script, nothing fetched from anywhere.
package report

import (
	"time"
)

// Status says how a figure stands against its target.
type Status string

const (
	Met    Status = "met"
	Missed Status = "missed"
	// NoData is never a pass: a figure without data does not meet its target.
	NoData Status = "no_data"
	// NoTarget marks a figure shown without a target (compliance, unless
	// one is configured).
	NoTarget Status = "no_target"
)

// Report is everything the report shows. It marshals to the JSON format.
type Report struct {
	Title       string    `json:"title"`
	GeneratedAt time.Time `json:"generated_at"`
	Period      Period    `json:"period"`
	// DataSource says where the PromQL ran and Store where the patch
	// events came from.
	DataSource string     `json:"data_source"`
	Store      string     `json:"store"`
	Targets    Targets    `json:"targets"`
	Coverage   Ratios     `json:"coverage"`
	Compliance Ratios     `json:"compliance"`
	Exposure   Exposure   `json:"exposure"`
	LeadTimes  []LeadTime `json:"lead_times"`
	Rollbacks  Counts     `json:"rollbacks"`
	Incidents  Counts     `json:"incidents"`
	Trends     []Trend    `json:"trends"`
	// Notes are what a reader must know to trust the numbers: absent
	// series, approximations.
	Notes []string `json:"notes"`
}

// Period is the reported interval, Start to End.
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Length and Step are Prometheus durations ("30d", "6h"); Step is the
	// resolution of the trend charts.
	Length string `json:"length"`
	Step   string `json:"step"`
}

// Targets are what the figures are held against.
type Targets struct {
	// Coverage and Compliance are fractions (0.95 is 95%); Compliance is
	// 0 when no target is set, and the pass rate is shown without one.
	Coverage   float64 `json:"coverage"`
	Compliance float64 `json:"compliance"`
	// ExposureDays is the longest a patch may stay discovered but not deployed.
	ExposureDays float64 `json:"exposure_days"`
	// TimeTo holds the target of each lead time in seconds, by metric
	// (time_to_discover, time_to_test, time_to_deploy); the 90th
	// percentile must be within it.
	TimeTo map[string]float64 `json:"time_to_seconds"`
}

// Ratios is coverage (patched assets of all assets) or compliance (passed
// checks of all checks), overall and broken down.
type Ratios struct {
	// Source is "recorded" when the ratios come from the recording rule's
	// series and "computed" when they were computed from the input series
	// because the recorded ones are absent; Expression is the PromQL used.
	Source     string  `json:"source"`
	Expression string  `json:"expression"`
	Overall    Share   `json:"overall"`
	BySeverity []Share `json:"by_severity,omitempty"`
	ByCluster  []Share `json:"by_cluster,omitempty"`
	ByService  []Share `json:"by_service,omitempty"`
}

// Share is one ratio at the period's end. Good is the patched assets (or
// passed checks) and Total all of them; Ratio is nil without data.
type Share struct {
	Severity string   `json:"severity,omitempty"`
	Cluster  string   `json:"cluster,omitempty"`
	Service  string   `json:"service,omitempty"`
	Good     float64  `json:"good"`
	Total    float64  `json:"total"`
	Ratio    *float64 `json:"ratio"`
	Status   Status   `json:"status"`
}

// Exposure lists the patches discovered but not deployed at the period's
// end, oldest first.
type Exposure struct {
	Open []OpenPatch `json:"open"`
	// OverTarget counts the open patches older than the target.
	OverTarget int `json:"over_target"`
	// Status is met when no open patch is older than the target, missed
	// when one is, and no_data when the store holds no patch events at
	// all: "0 of 0" is no evidence.
	Status Status `json:"status"`
	// CVEsBySeverity sums up CVEs: one row per severity, most severe
	// first, from the open patches whose events name CVEs (imported
	// scanner reports: docs/scans.md).
	CVEsBySeverity []SeverityCVEs `json:"cves_by_severity"`
	// CVEs are those CVEs, most severe first, then oldest first.
	CVEs []OpenCVE `json:"cves"`
}

// SeverityCVEs counts the open CVEs of one severity against the exposure
// target. Status is no_data when no event names a CVE (no scan was
// imported), met when none of them is over the target.
type SeverityCVEs struct {
	Severity   string  `json:"severity"`
	Open       int     `json:"open"`
	OverTarget int     `json:"over_target"`
	OldestDays float64 `json:"oldest_days"`
	Status     Status  `json:"status"`
}

// OpenCVE is one CVE of an open patch, exposed as long as its patch:
// since the disclosure, else the discovery. Severity is the patch's (the
// highest of the CVEs one fix closes). CVE is "+N more" for the CVEs
// beyond what an event's label holds.
type OpenCVE struct {
	CVE       string    `json:"cve"`
	Severity  string    `json:"severity"`
	PatchID   string    `json:"patch_id"`
	Services  []string  `json:"services"`
	Assets    []string  `json:"assets"`
	OpenSince time.Time `json:"open_since"`
	DaysOpen  float64   `json:"days_open"`
	Status    Status    `json:"status"`
}

// OpenPatch is one patch still open: exposed since its disclosure (the
// disclosed_at label of its events), else its discovery, else its first
// event; Services are those not yet deployed.
type OpenPatch struct {
	PatchID   string    `json:"patch_id"`
	Severity  string    `json:"severity"`
	Services  []string  `json:"services"`
	OpenSince time.Time `json:"open_since"`
	DaysOpen  float64   `json:"days_open"`
	Status    Status    `json:"status"`
}

// LeadTime is one lead-time metric for one severity over the period,
// estimated from the histogram's buckets.
type LeadTime struct {
	// Metric is time_to_discover, time_to_test or time_to_deploy.
	Metric   string `json:"metric"`
	Severity string `json:"severity"`
	// Count is the number of observations in the period (patches).
	Count float64 `json:"count"`
	// P50 and P90 are in seconds; nil without observations.
	P50    *float64 `json:"p50_seconds"`
	P90    *float64 `json:"p90_seconds"`
	Target float64  `json:"target_seconds"`
	Status Status   `json:"status"`
}

// Counts are events of one kind in the period, by service.
type Counts struct {
	Total     int        `json:"total"`
	ByService []KeyCount `json:"by_service"`
}

// KeyCount is a count under a key.
type KeyCount struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// Trend is one chart: several series over the period.
type Trend struct {
	// ID is stable (coverage, exposure, compliance, rollbacks_incidents).
	ID    string `json:"id"`
	Title string `json:"title"`
	// Unit is what the values are in ("%", "days", "events").
	Unit string `json:"unit"`
	// Target is drawn as a dashed line when set.
	Target *float64 `json:"target,omitempty"`
	Series []Series `json:"series"`
}

// Series is one line of a chart.
type Series struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Point is one value of a series.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Lead-time metrics, in the order they are shown.
const (
	TimeToDiscover = "time_to_discover"
	TimeToTest     = "time_to_test"
	TimeToDeploy   = "time_to_deploy"
)

// LeadTimeMetrics lists the lead-time metrics in order.
var LeadTimeMetrics = []string{TimeToDiscover, TimeToTest, TimeToDeploy}

// DefaultTargets are the default patch lifecycle targets (as in
// internal/config): 95% coverage, no patch open longer than 14 days,
// discovery within 24h, testing within 72h, deployment within 7 days; no
// compliance target.
func DefaultTargets() Targets {
	return Targets{
		Coverage:     0.95,
		ExposureDays: 14,
		TimeTo: map[string]float64{
			TimeToDiscover: (24 * time.Hour).Seconds(),
			TimeToTest:     (72 * time.Hour).Seconds(),
			TimeToDeploy:   (7 * 24 * time.Hour).Seconds(),
		},
	}
}
