package slo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
)

// Fleet input metrics: the contract between patchgate's rules and whatever
// knows the fleet (inventory, patch agents, compliance scanners). They are
// read from Prometheus; patchgate's simulator writes them in the demo.
// docs/metrics.md describes them.
const (
	// FleetAssets is a gauge: how many assets of a service in a cluster
	// are in a status for one patch, labels cluster, service, severity,
	// patch_id and status (patched, pending, failed, offline).
	FleetAssets = "patchgate_fleet_assets"
	// FleetComplianceChecks is a gauge: how many compliance checks of a
	// service in a cluster have a result, labels cluster, service and
	// result (pass, fail).
	FleetComplianceChecks = "patchgate_fleet_compliance_checks"
)

// InputContract describes the fleet input series (docs/metrics.md).
func InputContract() []lifecycle.Metric {
	return []lifecycle.Metric{
		{Name: FleetAssets, Type: "gauge", Labels: []string{"cluster", "service", "severity", "patch_id", "status"},
			Help: "Assets of a service in a cluster in one status for one patch: status patched, pending, failed or offline.", Exporter: "input"},
		{Name: FleetComplianceChecks, Type: "gauge", Labels: []string{"cluster", "service", "result"},
			Help: "Compliance checks of a service's assets in a cluster with one result: result pass or fail.", Exporter: "input"},
	}
}

// FleetAssetStatuses are the values of FleetAssets' status label.
func FleetAssetStatuses() []string { return []string{"patched", "pending", "failed", "offline"} }

// ComplianceResults are the values of FleetComplianceChecks' result label.
func ComplianceResults() []string { return []string{"pass", "fail"} }

// Series the exporter writes that the lifecycle rules read.
const (
	exposureWindowMetric   = lifecycle.ExposureWindow
	canaryErrorDeltaMetric = lifecycle.CanaryErrorDelta
)

// Series recorded by the lifecycle rules.
const (
	RecordPatchCoverage    = "patchgate:patch_coverage:ratio"
	RecordCompliancePass   = "patchgate:compliance_pass:ratio"
	RecordExposureWindow   = "patchgate:vulnerability_exposure_window:seconds"
	RecordCanaryErrorDelta = "patchgate:canary_error_delta:ratio"

	RecordTargetTimeToDiscover   = "patchgate:target_time_to_discover:seconds"
	RecordTargetTimeToTest       = "patchgate:target_time_to_test:seconds"
	RecordTargetTimeToDeploy     = "patchgate:target_time_to_deploy:seconds"
	RecordTargetTimeToRollback   = "patchgate:target_time_to_rollback:seconds"
	RecordTargetPatchCoverage    = "patchgate:target_patch_coverage:ratio"
	RecordTargetCanaryErrorDelta = "patchgate:target_canary_error_delta:ratio"
	RecordTargetExposureWindow   = "patchgate:target_vulnerability_exposure_window:seconds"
	RecordTargetCompliancePass   = "patchgate:target_compliance_pass:ratio"
)

// Names of the lifecycle rule groups.
const (
	GroupFleet     = "patchgate-fleet"
	GroupLifecycle = "patchgate-lifecycle"
	GroupTargets   = "patchgate-targets"
)

// LifecycleRules are the recording rules of the patch SLIs that are not
// service SLOs: fleet coverage and compliance from the input contract, the
// exposure window and canary error delta across gate replicas (every
// replica exports the same values, read from the shared store: take the
// max, never the sum), and the targets of t as constant series.
func LifecycleRules(t config.Targets) []rulefmt.RuleGroup {
	fleet := rulefmt.RuleGroup{Name: GroupFleet, Rules: []rulefmt.Rule{
		{
			// Assets on the patch over eligible assets (all but offline),
			// counting asset and patch pairs. No eligible asset: no sample
			// rather than NaN.
			Record: RecordPatchCoverage,
			Expr: fmt.Sprintf(`sum by (cluster, service, severity) (%[1]s{status="patched"})
/
(sum by (cluster, service, severity) (%[1]s{status!="offline"}) > 0)
`, FleetAssets),
		},
		{
			Record: RecordCompliancePass,
			Expr: fmt.Sprintf(`sum by (cluster, service) (%[1]s{result="pass"})
/
(sum by (cluster, service) (%[1]s) > 0)
`, FleetComplianceChecks),
		},
	}}
	lifecycle := rulefmt.RuleGroup{Name: GroupLifecycle, Rules: []rulefmt.Rule{
		{Record: RecordExposureWindow, Expr: fmt.Sprintf("max by (severity) (%s)", exposureWindowMetric)},
		{Record: RecordCanaryErrorDelta, Expr: fmt.Sprintf("max by (service, patch_id, stage) (%s)", canaryErrorDeltaMetric)},
	}}
	seconds := func(d config.Duration) string { return number(time.Duration(d).Seconds()) }
	ratio := func(percent float64) string { return number(percent / 100) }
	targets := rulefmt.RuleGroup{Name: GroupTargets, Rules: []rulefmt.Rule{
		{Record: RecordTargetTimeToDiscover, Expr: "vector(" + seconds(t.TimeToDiscover) + ")"},
		{Record: RecordTargetTimeToTest, Expr: "vector(" + seconds(t.TimeToTest) + ")"},
		{Record: RecordTargetTimeToDeploy, Expr: "vector(" + seconds(t.TimeToDeploy) + ")"},
		{Record: RecordTargetTimeToRollback, Expr: "vector(" + seconds(t.TimeToRollback) + ")"},
		{Record: RecordTargetPatchCoverage, Expr: "vector(" + ratio(t.PatchCoverage) + ")"},
		{Record: RecordTargetCanaryErrorDelta, Expr: "vector(" + ratio(t.CanaryErrorDeltaPP) + ")"},
		{Record: RecordTargetExposureWindow, Expr: "vector(" + seconds(t.ExposureWindow) + ")"},
	}}
	if t.CompliancePass > 0 {
		targets.Rules = append(targets.Rules, rulefmt.Rule{Record: RecordTargetCompliancePass, Expr: "vector(" + ratio(t.CompliancePass) + ")"})
	}
	return []rulefmt.RuleGroup{fleet, lifecycle, targets}
}

// number prints v as PromQL reads it back: the shortest exact form.
func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
