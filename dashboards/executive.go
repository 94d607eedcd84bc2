package dashboards

import (
	"fmt"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/slo"
)

// Series the dashboards read: patchgate's own metrics, its recording rules,
// Sloth's recording rules and the documented inputs (docs/metrics.md).
const (
	metricAssets           = slo.FleetAssets
	metricComplianceChecks = slo.FleetComplianceChecks
	recordedCoverage       = slo.RecordPatchCoverage
	recordedCompliance     = slo.RecordCompliancePass
	// The exposure window as recorded across gate replicas (each exports
	// the same value: the rule takes the max by severity).
	recordedExposure      = slo.RecordExposureWindow
	metricTimeToDeploy    = lifecycle.TimeToDeploy
	metricOpenCVEExposure = lifecycle.OpenCVEExposure
	metricBudgetRemaining = "slo:period_error_budget_remaining:ratio"
)

// Fleet asset statuses and compliance results (the input contract,
// slo.FleetAssetStatuses): patched assets count towards coverage, offline
// ones are left out of it, as in the coverage recording rule.
const (
	statusPatched = "patched"
	statusOffline = "offline"
	resultPass    = "pass"
)

// oneReplica keeps one copy of a lifecycle series: every gate replica
// computes it from the shared store and exports the same value, so it is
// aggregated across replicas with max, never sum (docs/metrics.md).
func oneReplica(expr string) string {
	return "max without (instance, pod) (" + expr + ")"
}

func seconds(d config.Duration) float64 { return time.Duration(d).Seconds() }

// coverage is the share of eligible assets on their patch, summed by the
// given labels ("" for the whole selection).
func coverage(by string) string {
	patched := sel(metricAssets, byCluster, byService, eq("status", statusPatched))
	eligible := sel(metricAssets, byCluster, byService, ne("status", statusOffline))
	return fmt.Sprintf("sum%s (%s) / sum%s (%s)", by, patched, by, eligible)
}

func compliance() string {
	pass := sel(metricComplianceChecks, byCluster, byService, eq("result", resultPass))
	all := sel(metricComplianceChecks, byCluster, byService)
	return fmt.Sprintf("sum(%s) / sum(%s)", pass, all)
}

// medianTimeToDeploy by severity over a range such as $__range or 7d.
func medianTimeToDeploy(window string) string {
	return fmt.Sprintf("histogram_quantile(0.5, sum by (severity, le) (%s))",
		oneReplica(fmt.Sprintf("increase(%s[%s])", sel(metricTimeToDeploy+"_bucket", byCluster, byService), window)))
}

func budgetConsumed() string {
	return "1 - " + sel(metricBudgetRemaining, variable("sloth_service", "service"))
}

func executive(cfg *config.Config, services []string) *builder {
	t := cfg.Targets
	covTarget := t.PatchCoverage / 100
	coverageSteps := base("red").from(covTarget, "green")
	exposureSteps := base("green").from(seconds(t.ExposureWindow), "red")
	deploySteps := base("green").from(seconds(t.TimeToDeploy), "red")
	budgetSteps := base("green").from(0.75, "orange").from(1, "red")
	var complianceSteps steps
	if t.CompliancePass > 0 {
		complianceSteps = base("red").from(t.CompliancePass/100, "green")
	}

	b := newDashboard("now-30d", "15m").
		Description("Patch coverage, exposure, compliance, time to deploy and error budgets against their targets (patchgate.yaml targets).").
		WithVariable(datasourceVariable()).
		WithVariable(queryVariable("cluster", "Cluster", fmt.Sprintf("label_values(%s, cluster)", metricAssets))).
		WithVariable(serviceVariable(services))

	b.WithRow(row(100, 0, "Now, with the trend over the time range"))
	b.WithPanel(statPanel(panel{id: 1, pos: at(0, 1, 5, 6), unit: "percentunit",
		title: "Patch coverage",
		desc:  fmt.Sprintf("Assets on their patch over eligible assets (offline assets left out). Target %g%%.", t.PatchCoverage)},
		coverageSteps, q(coverage(""), "coverage")))
	b.WithPanel(statPanel(panel{id: 2, pos: at(5, 1, 5, 6), unit: "s",
		title: "Vulnerability exposure window",
		desc:  fmt.Sprintf("Age of the oldest open patch, by severity. Target %s.", t.ExposureWindow)},
		exposureSteps, q(fmt.Sprintf("max by (severity) (%s)", recordedExposure), "{{severity}}")))
	b.WithPanel(statPanel(panel{id: 3, pos: at(10, 1, 5, 6), unit: "percentunit",
		title: "Compliance pass rate",
		desc:  "Compliance checks passing over all compliance checks." + targetNote(t.CompliancePass)},
		complianceSteps, q(compliance(), "compliance")))
	b.WithPanel(instantStat(panel{id: 4, pos: at(15, 1, 5, 6), unit: "s",
		title: "Median time to deploy",
		desc:  fmt.Sprintf("Median time from discovered to deployed, by severity, over the time range. Target %s.", t.TimeToDeploy)},
		deploySteps, q(medianTimeToDeploy("$__range"), "{{severity}}")))
	b.WithPanel(statPanel(panel{id: 5, pos: at(20, 1, 4, 6), unit: "percentunit",
		title: "Error budget consumed",
		desc:  "Share of each SLO's error budget spent over its period (Sloth's slo:period_error_budget_remaining:ratio)."},
		budgetSteps, q(budgetConsumed(), "{{sloth_service}} {{sloth_slo}}")))

	b.WithRow(row(101, 7, "Trends"))
	b.WithPanel(timeseriesPanel(panel{id: 6, pos: at(0, 8, 12, 8), unit: "percentunit",
		title: "Patch coverage by severity",
		desc:  fmt.Sprintf("Dashed: the %g%% target.", t.PatchCoverage)},
		coverageSteps, q(coverage(" by (severity)"), "{{severity}}")).Max(1))
	b.WithPanel(timeseriesPanel(panel{id: 7, pos: at(12, 8, 12, 8), unit: "s",
		title: "Vulnerability exposure window by severity",
		desc:  fmt.Sprintf("Dashed: the %s target.", t.ExposureWindow)},
		exposureSteps, q(fmt.Sprintf("max by (severity) (%s)", recordedExposure), "{{severity}}")))
	b.WithPanel(timeseriesPanel(panel{id: 8, pos: at(0, 16, 12, 8), unit: "percentunit",
		title: "Compliance pass rate by cluster and service",
		desc:  "patchgate's recording rule over the compliance checks." + targetNote(t.CompliancePass)},
		complianceSteps, q(sel(recordedCompliance, byCluster, byService), "{{cluster}} {{service}}")).Max(1))
	b.WithPanel(timeseriesPanel(panel{id: 9, pos: at(12, 16, 12, 8), unit: "s",
		title: "Median time to deploy by severity (7-day window)",
		desc:  fmt.Sprintf("Dashed: the %s target.", t.TimeToDeploy)},
		deploySteps, q(medianTimeToDeploy("7d"), "{{severity}}")))
	b.WithPanel(timeseriesPanel(panel{id: 10, pos: at(0, 24, 12, 8), unit: "percentunit",
		title: "Error budget consumed",
		desc:  "Above 100%: the SLO is broken for its period."},
		budgetSteps, q(budgetConsumed(), "{{sloth_service}} {{sloth_slo}}")))
	b.WithPanel(tablePanel(panel{id: 11, pos: at(12, 24, 12, 8), unit: "percentunit",
		title: "Patch coverage by cluster, service and severity",
		desc:  "patchgate's recording rule, now."},
		coverageSteps, q(sel(recordedCoverage, byCluster, byService), "")))
	b.WithPanel(tablePanel(panel{id: 12, pos: at(0, 32, 24, 8), unit: "s",
		title: "Open CVEs by severity",
		desc: fmt.Sprintf("Each CVE of an open patch, from imported scanner reports (patchgate import scan), with its exposure window, most exposed first. Red: over the %s target.",
			t.ExposureWindow)},
		exposureSteps, q(fmt.Sprintf("sort_desc(max by (severity, cve, patch_id) (%s))", metricOpenCVEExposure), "")))
	return b
}

func targetNote(percent float64) string {
	if percent <= 0 {
		return " No target set (targets.compliance_pass)."
	}
	return fmt.Sprintf(" Target %g%%.", percent)
}
