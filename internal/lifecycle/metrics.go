// Package lifecycle exports the patch lifecycle SLIs on /metrics: how long
// patches take from disclosure to discovery, to test, to deployment and to
// rollback; rollbacks and patch-induced incidents; the exposure window of
// open patches; and the canary error delta of active rollouts.
//
// Every value is computed from the store (the patch events, and the gate's
// recorded decisions) when Prometheus scrapes, with a short cache: several
// gate replicas on one store export the same numbers, and an event posted
// twice (or to two replicas) is stored, and so counted, once. Aggregate
// across replicas with max, never sum. docs/metrics.md documents every
// series.
package lifecycle

import "slices"

// Metric names. The agreed names dashboards, alerts and the report read.
const (
	TimeToDiscover   = "patchgate_patch_time_to_discover_seconds"
	TimeToTest       = "patchgate_patch_time_to_test_seconds"
	TimeToDeploy     = "patchgate_patch_time_to_deploy_seconds"
	TimeToRollback   = "patchgate_patch_time_to_rollback_seconds"
	CanaryErrorDelta = "patchgate_canary_error_delta_ratio"
	// CanaryLatencyDelta and CanaryLatencyP99 are latency_delta's numbers
	// in the same newest decision of each active rollout.
	CanaryLatencyDelta = "patchgate_canary_latency_delta_ratio"
	CanaryLatencyP99   = "patchgate_canary_latency_p99"
	Incidents          = "patchgate_patch_incidents_total"
	Rollbacks          = "patchgate_patch_rollbacks_total"
	ExposureWindow     = "patchgate_vulnerability_exposure_window_seconds"
	// OpenCVEExposure is the exposure of each CVE of an open patch (cves.go).
	OpenCVEExposure = "patchgate_open_cve_exposure_seconds"
	ReadErrors      = "patchgate_lifecycle_read_errors_total"
	// RolledBackAt and ProgressAfterNoGo are the rollouts the patch alerts
	// watch (rollouts.go, docs/alerts.md).
	RolledBackAt      = "patchgate_rollout_rolled_back_timestamp_seconds"
	ProgressAfterNoGo = "patchgate_rollout_progress_after_no_go"
	// Decisions is exported by the server (server/metrics.go), per replica:
	// each answer is counted by the replica that gave it.
	Decisions = "patchgate_decisions_total"
)

// Other series of the gate itself (server/metrics.go,
// internal/metricsource/instrumented.go), per replica.
const (
	DecisionDuration = "patchgate_decision_duration_seconds"
	HTTPRequests     = "patchgate_http_requests_total"
	Queries          = "patchgate_prometheus_queries_total"
	QueryErrors      = "patchgate_prometheus_query_errors_total"
	QueryDuration    = "patchgate_prometheus_query_duration_seconds"
)

// Metric describes one exported series for documentation and checks.
type Metric struct {
	Name   string
	Type   string // counter, gauge or histogram
	Labels []string
	Help   string
	// Exporter is "lifecycle" (this package) or "server".
	Exporter string
}

// Series are the names a metric appears under in Prometheus: a
// histogram's _bucket, _sum and _count.
func (m Metric) Series() []string {
	if m.Type == "histogram" {
		return []string{m.Name + "_bucket", m.Name + "_sum", m.Name + "_count"}
	}
	return []string{m.Name}
}

// Metrics lists every series patchgate exports that rules, dashboards and
// the report may read: the patch SLIs of this package and the gate's own
// (Exporter "server" or "metricsource"; cmd/patchgate's tests check they
// are registered).
func Metrics() []Metric {
	return []Metric{
		{TimeToDiscover, "histogram", []string{"severity"},
			"Seconds from a vulnerability's disclosure (labels.disclosed_at of its events) to the patch's discovered event.", "lifecycle"},
		{TimeToTest, "histogram", []string{"severity", "service"},
			"Seconds from a patch's discovered event to its tested event, per service tested.", "lifecycle"},
		{TimeToDeploy, "histogram", []string{"severity", "service", "cluster"},
			"Seconds from a patch's discovered event to its first deployed event in a service and cluster.", "lifecycle"},
		{TimeToRollback, "histogram", []string{"severity", "service", "cluster"},
			"Seconds from the start of a rolled-back stage (its stage_started event) to the rolled_back event.", "lifecycle"},
		{CanaryErrorDelta, "gauge", []string{"service", "patch_id", "stage"},
			"Canary error ratio minus the baseline's in the latest gate decision of each active rollout.", "lifecycle"},
		{CanaryLatencyDelta, "gauge", []string{"service", "patch_id", "stage"},
			"Canary share of requests slower than latency_delta's threshold minus the baseline's, in the latest gate decision of each active rollout.", "lifecycle"},
		{CanaryLatencyP99, "gauge", []string{"service", "patch_id", "stage", "track"},
			"p99 latency of the canary and the baseline (track) over the stage window, in the unit of latency_delta's histogram, in the latest gate decision of each active rollout.", "lifecycle"},
		{Incidents, "counter", []string{"severity", "service", "cluster"},
			"Patch-induced incidents: incident events.", "lifecycle"},
		{Rollbacks, "counter", []string{"service", "cluster"},
			"Rollbacks: rolled_back events, one per patch, service, cluster, stage and attempt.", "lifecycle"},
		{ExposureWindow, "gauge", []string{"severity"},
			"Age in seconds of the oldest open patch of each severity (0 when none is open).", "lifecycle"},
		{OpenCVEExposure, "gauge", []string{"severity", "cve", "patch_id"},
			"Age in seconds of the exposure of each CVE an open patch fixes: the CVEs its events' cves label names (imported scanner reports), at the patch's severity, since its disclosure, else discovery.", "lifecycle"},
		{RolledBackAt, "gauge", []string{"service", "cluster", "patch_id"},
			"Unix time of the rolled_back event of each rollout whose newest stage_started, promoted, deployed or rolled_back event is that rollback.", "lifecycle"},
		{ProgressAfterNoGo, "gauge", []string{"service", "cluster", "patch_id"},
			"stage_started and promoted events of a rollout since the gate's newest no_go for the service and patch, while no go, rollback or deployment followed it.", "lifecycle"},
		{ReadErrors, "counter", nil,
			"Failed reads of the store behind the patch lifecycle metrics; the last good values are served meanwhile.", "lifecycle"},
		{Decisions, "counter", []string{"service", "stage", "decision"},
			"Gate decisions answered, by service, stage and decision.", "server"},
		{DecisionDuration, "histogram", []string{"decision"},
			"Time taken to evaluate a gate request, by decision (error when the gate failed).", "server"},
		{HTTPRequests, "counter", []string{"handler", "code"},
			"HTTP requests answered, by handler and status code.", "server"},
		{Queries, "counter", []string{"kind"},
			"PromQL queries sent to the metric source.", "metricsource"},
		{QueryErrors, "counter", []string{"kind"},
			"PromQL queries that failed.", "metricsource"},
		{QueryDuration, "histogram", []string{"kind"},
			"Time taken by PromQL queries.", "metricsource"},
	}
}

// Buckets of the duration histograms, in seconds. They hold the default
// targets (24h, 72h, 7d, 14d; 60m for rollbacks) as bounds, so the share of
// patches within target is a ratio of two series.
func durationBuckets() []float64 {
	const h = 3600.0
	return []float64{h, 4 * h, 12 * h, 24 * h, 48 * h, 72 * h, 120 * h, 168 * h, 336 * h, 720 * h, 1440 * h, 2160 * h}
}

func rollbackBuckets() []float64 {
	const m = 60.0
	return []float64{m, 5 * m, 10 * m, 15 * m, 30 * m, 60 * m, 120 * m, 240 * m, 720 * m, 1440 * m}
}

// severities the exposure gauge always reports, with "unknown" for patches
// whose events name none.
func severities() []string { return []string{"critical", "high", "medium", "low", "unknown"} }

// knownSeverity maps an event's severity to a label value.
func knownSeverity(s string) string {
	if slices.Contains(severities(), s) && s != "" {
		return s
	}
	return "unknown"
}
