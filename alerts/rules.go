package alerts

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/slo"
)

// Values of the severity label.
const (
	SeverityPage   = "page"
	SeverityTicket = "ticket"
)

// Labels every patch alert carries, and the routing matches on.
const (
	// SourceLabel="patchgate" marks patchgate's alerts: the Alertmanager
	// route matches on it.
	SourceLabel = "source"
	Source      = "patchgate"
	// ExpectedLabel="true" marks alerts expected inside a patch window:
	// Alertmanager mutes them there.
	ExpectedLabel = "expected_in_window"
	// PatchSeverityLabel holds the patch's severity (critical, high, ...)
	// of alerts read from series labelled severity, as the alert's own
	// severity label says page or ticket.
	PatchSeverityLabel = "patch_severity"
)

// GroupBy are the labels Alertmanager groups patch alerts by: one
// notification per patch, cluster and service.
func GroupBy() []string { return []string{"patch_id", "cluster", "service"} }

// Series recorded by the alert rules' own group.
const (
	// RecordServiceTeam is 1 for each service of the configuration with a
	// team, labels service and team: the alerts join it to name the team.
	RecordServiceTeam = "patchgate:service_team:info"
	// RecordPatchingErrorRatio is each SLO's 5m error ratio while the gate
	// answered for its service within patchingActiveFor, 0 otherwise.
	RecordPatchingErrorRatio = "patchgate:patching_error_ratio:rate5m"
)

// Rule groups.
const (
	// GroupTeams records RecordServiceTeam at the global evaluation
	// interval, so that the alerts find it from their first evaluations.
	GroupTeams = "patchgate-alert-teams"
	// GroupRecords records RecordPatchingErrorRatio every recordInterval.
	GroupRecords = "patchgate-alert-records"
	GroupPages   = "patchgate-alerts-page"
	GroupTickets = "patchgate-alerts-ticket"
)

const (
	// recordInterval is the records group's evaluation interval: the
	// budget alert adds up RecordPatchingErrorRatio's samples, each
	// standing for this long.
	recordInterval = time.Minute
	// patchingActiveFor: a service counts as being patched while the gate
	// answered for it within this long (the lifecycle's active rollout).
	patchingActiveFor = 30 * time.Minute
)

// Result is the rules generated for a configuration.
type Result struct {
	Groups []rulefmt.RuleGroup
	// Notes say what was left out and why, for the user to read.
	Notes []string
}

// Counts returns the number of pages, tickets and recording rules.
func (r Result) Counts() (pages, tickets, records int) {
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			switch {
			case rule.Record != "":
				records++
			case rule.Labels["severity"] == SeverityPage:
				pages++
			default:
				tickets++
			}
		}
	}
	return pages, tickets, records
}

// Rules returns the patch alerts for cfg.
func Rules(cfg *config.Config) (Result, error) {
	b := builder{cfg: cfg, a: &cfg.Alerting}
	var res Result
	teams := rulefmt.RuleGroup{Name: GroupTeams}
	for _, s := range cfg.Services {
		if s.Team != "" {
			teams.Rules = append(teams.Rules, rulefmt.Rule{
				Record: RecordServiceTeam, Expr: "vector(1)",
				Labels: map[string]string{"service": s.Name, "team": s.Team},
			})
			b.teams = true
		}
	}
	records := rulefmt.RuleGroup{Name: GroupRecords, Interval: model.Duration(recordInterval)}
	records.Rules = append(records.Rules, rulefmt.Rule{
		Record: RecordPatchingErrorRatio,
		Expr: fmt.Sprintf(`label_replace(max without (sloth_window) (%s >= 0), "service", "$1", "sloth_service", "(.+)")
* on (service) group_left ()
(sum by (service) (increase(%s[%s])) > bool 0)
`, slo.SLIErrorRecord(5*time.Minute), lifecycle.Decisions, promDuration(patchingActiveFor)),
	})

	pages := rulefmt.RuleGroup{Name: GroupPages}
	canary, notes, err := b.canaryErrors()
	if err != nil {
		return Result{}, err
	}
	res.Notes = append(res.Notes, notes...)
	pages.Rules = append(pages.Rules, canary...)
	slow, notes, err := b.canaryLatency()
	if err != nil {
		return Result{}, err
	}
	res.Notes = append(res.Notes, notes...)
	pages.Rules = append(pages.Rules, slow...)
	pages.Rules = append(pages.Rules, b.rollbackFailed(), b.massReboot(), b.noGoIgnored())

	tickets := rulefmt.RuleGroup{Name: GroupTickets}
	if cfg.Targets.CompliancePass > 0 {
		tickets.Rules = append(tickets.Rules, b.complianceDrift())
	} else {
		res.Notes = append(res.Notes, config.AlertComplianceDrift+" left out: no compliance target (targets.compliance_pass)")
	}
	tickets.Rules = append(tickets.Rules, b.hostPatchFailed(), b.patchFailed(), b.exposureWindow(), b.coverage(), b.budgetUsed())
	if len(teams.Rules) > 0 {
		res.Groups = append(res.Groups, teams)
	}
	res.Groups = append(res.Groups, records, pages, tickets)
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if _, err := parser.ParseExpr(r.Expr); err != nil {
				return Result{}, fmt.Errorf("group %s, rule %s%s: %w", g.Name, r.Record, r.Alert, err)
			}
		}
	}
	return res, nil
}

// builder makes the rules of one configuration.
type builder struct {
	cfg   *config.Config
	a     *config.Alerting
	teams bool // some service has a team: join RecordServiceTeam
}

// rule returns an alerting rule with the common labels and annotations.
func (b *builder) rule(name, severity, expr, summary, description string, extra map[string]string) rulefmt.Rule {
	ls := map[string]string{"severity": severity, SourceLabel: Source}
	for k, v := range extra {
		ls[k] = v
	}
	return rulefmt.Rule{
		Alert:  name,
		Expr:   expr,
		For:    model.Duration(b.a.AlertFor(name)),
		Labels: ls,
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": b.a.RunbookURL + strings.ToLower(name),
		},
	}
}

// withTeam adds the team label of the service to every series of expr:
// series of services without a team (or of no configured service) keep
// no team label.
func (b *builder) withTeam(expr string) string {
	expr = strings.TrimSpace(expr)
	if !b.teams {
		return expr + "\n"
	}
	return fmt.Sprintf(`(
%[1]s
) * on (service) group_left (team) %[2]s
or
(
%[1]s
) unless on (service) %[2]s
`, indent(expr), RecordServiceTeam)
}

// patchSeverity moves a series' severity label to patch_severity.
func patchSeverity(expr string) string {
	return fmt.Sprintf(`label_replace(%s, %q, "$1", "severity", "(.*)")`, expr, PatchSeverityLabel)
}

// forText says how long a condition held before the alert fired.
func (b *builder) forText(name string) string {
	d := b.a.AlertFor(name)
	if d == 0 {
		return ""
	}
	return ", for " + days(d)
}

// canaryErrors pages when an active rollout's canary fails more than the
// baseline by over the stage's error_delta margin: one rule per service
// and margin (stages with another margin get their own rule).
func (b *builder) canaryErrors() ([]rulefmt.Rule, []string, error) {
	return b.canaryDelta(canaryCheck{
		name: config.AlertCanaryErrors, check: "error_delta", gauge: lifecycle.CanaryErrorDelta,
		margin: func(c config.Checks) (float64, bool) {
			if c.ErrorDelta == nil {
				return 0, false
			}
			return c.ErrorDelta.MarginPP, true
		},
		summary:     "Canary of {{ $labels.patch_id }} on {{ $labels.service }} fails more than the baseline",
		description: "At stage {{ $labels.stage }}, the canary of {{ $labels.patch_id }} fails {{ $value | humanizePercentage }} more of its requests than the baseline (points of error ratio), over the %spp margin of the stage's error_delta check%s, in the gate's newest decision of this active rollout. The gate answers no_go once the regression is established; roll back if users suffer meanwhile.",
	})
}

// canaryLatency pages when an active rollout's canary has more slow
// requests than the baseline by over the stage's latency_delta margin, as
// canaryErrors does for errors.
func (b *builder) canaryLatency() ([]rulefmt.Rule, []string, error) {
	return b.canaryDelta(canaryCheck{
		name: config.AlertCanaryLatency, check: "latency_delta", gauge: lifecycle.CanaryLatencyDelta,
		margin: func(c config.Checks) (float64, bool) {
			if c.LatencyDelta == nil {
				return 0, false
			}
			return c.LatencyDelta.MarginPP, true
		},
		summary:     "Canary of {{ $labels.patch_id }} on {{ $labels.service }} is slower than the baseline",
		description: "At stage {{ $labels.stage }}, {{ $value | humanizePercentage }} more of the canary's requests of {{ $labels.patch_id }} are slower than the latency_delta threshold than the baseline's (points of slow share), over the %spp margin of the stage's latency_delta check%s, in the gate's newest decision of this active rollout (both arms' p99: patchgate_canary_latency_p99). The gate answers no_go once the regression is established; roll back if users suffer meanwhile.",
	})
}

// canaryCheck is what tells the canary pages apart.
type canaryCheck struct {
	name, check, gauge   string
	margin               func(config.Checks) (float64, bool)
	summary, description string // description: margin and for text as %s
}

// canaryDelta writes one page per service and margin of c's check, on the
// per-rollout gauge the gate exports from its newest decision.
func (b *builder) canaryDelta(c canaryCheck) ([]rulefmt.Rule, []string, error) {
	name := c.name
	var rules []rulefmt.Rule
	var without []string
	for i := range b.cfg.Services {
		s := &b.cfg.Services[i]
		var margins []float64
		stages := map[float64][]string{}
		all := 0
		for j := range s.Stages {
			m, ok := c.margin(s.EffectiveChecks(&s.Stages[j]))
			if !ok {
				continue
			}
			all++
			if _, ok := stages[m]; !ok {
				margins = append(margins, m)
			}
			stages[m] = append(stages[m], s.Stages[j].Name)
		}
		if all == 0 {
			without = append(without, s.Name)
			continue
		}
		for _, m := range margins {
			ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "service", s.Name)}
			switch {
			case len(margins) > 1 && len(stages[m]) == 1:
				ms = append(ms, labels.MustNewMatcher(labels.MatchEqual, "stage", stages[m][0]))
			case len(margins) > 1:
				ms = append(ms, slo.AnyOf("stage", stages[m]...))
			}
			sel, err := slo.Selector(c.gauge, ms)
			if err != nil {
				return nil, nil, fmt.Errorf("service %s: %w", s.Name, err)
			}
			expr := fmt.Sprintf("max by (service, patch_id, stage) (%s) > %s\n", sel, number(m/100))
			// The margin tells the rules of one service apart, the service
			// (which the series carry already) the rules of one team: promtool
			// finds rules of one name and the same labels duplicate.
			pp := strconv.FormatFloat(m, 'f', -1, 64)
			extra := map[string]string{"margin_pp": pp, "service": s.Name}
			if s.Team != "" {
				extra["team"] = s.Team
			}
			rules = append(rules, b.rule(name, SeverityPage, expr, c.summary,
				fmt.Sprintf(c.description, pp, b.forText(name)), extra))
		}
	}
	var notes []string
	if len(without) > 0 {
		notes = append(notes, fmt.Sprintf("%s: no rule for %s (no %s check at any stage)", name, strings.Join(without, ", "), c.check))
	}
	return rules, notes, nil
}

// rollbackFailed pages when assets still run a patch RollbackGrace after
// its rollout in their cluster was rolled back (and not started again).
// A rolled_back event without a cluster covers every cluster of the
// service.
func (b *builder) rollbackFailed() rulefmt.Rule {
	const name = config.AlertRollbackFailed
	grace := time.Duration(b.a.Thresholds.RollbackGrace)
	patched := fmt.Sprintf(`(sum by (patch_id, cluster, service) (%s{status="patched"}) > 0)`, slo.FleetAssets)
	expr := fmt.Sprintf(`%[1]s
and on (patch_id, cluster, service)
(time() - max by (patch_id, cluster, service) (%[2]s{cluster!=""}) > %[3]s)
or
%[1]s
and on (patch_id, service)
(time() - max by (patch_id, service) (%[2]s{cluster=""}) > %[3]s)`, patched, lifecycle.RolledBackAt, number(grace.Seconds()))
	return b.rule(name, SeverityPage, b.withTeam(expr),
		"Rollback of {{ $labels.patch_id }} on {{ $labels.service }} in {{ $labels.cluster }} did not complete",
		fmt.Sprintf("{{ $value }} asset(s) of {{ $labels.service }} in {{ $labels.cluster }} still run {{ $labels.patch_id }} (patchgate_fleet_assets{status=\"patched\"}) more than %s after the rollout was rolled back: the rollback failed or stalled.", days(config.Duration(grace))),
		nil)
}

// massReboot pages when more than MassRebootPercent of a cluster's hosts
// (of a service's hosts in it, when node_boot_time_seconds carries a
// service label) rebooted within RebootWindow. It is expected inside a
// patch window: Alertmanager mutes it there.
func (b *builder) massReboot() rulefmt.Rule {
	const name = config.AlertMassNodeReboot
	t := b.a.Thresholds
	window := promDuration(time.Duration(t.RebootWindow))
	expr := fmt.Sprintf(`(
  count by (cluster, service) (changes(%[1]s[%[2]s]) > 0)
/
  count by (cluster, service) (%[1]s)
) > %[3]s`, NodeBootTime, window, number(t.MassRebootPercent/100))
	pct := strconv.FormatFloat(t.MassRebootPercent, 'f', -1, 64)
	return b.rule(name, SeverityPage, b.withTeam(expr),
		"{{ $value | humanizePercentage }} of the hosts of {{ $labels.cluster }} rebooted within "+window,
		fmt.Sprintf("{{ $value | humanizePercentage }} of the hosts of {{ $labels.cluster }}{{ with $labels.service }} running {{ . }}{{ end }} rebooted within the last %s (node_boot_time_seconds changed), over the %s%% threshold. Inside a patch window Alertmanager mutes this alert (%s=\"true\"): check the rollout's concurrency if it fires outside one.", window, pct, ExpectedLabel),
		map[string]string{ExpectedLabel: "true"})
}

// noGoIgnored pages while a rollout goes on past the gate's no_go.
func (b *builder) noGoIgnored() rulefmt.Rule {
	const name = config.AlertNoGoIgnored
	expr := fmt.Sprintf("max by (patch_id, cluster, service) (%s) > 0", lifecycle.ProgressAfterNoGo)
	return b.rule(name, SeverityPage, b.withTeam(expr),
		"Rollout of {{ $labels.patch_id }} on {{ $labels.service }} goes on despite the gate's no_go",
		"{{ $value }} stage start(s) or promotion(s) of {{ $labels.patch_id }} for {{ $labels.service }}{{ with $labels.cluster }} in {{ . }}{{ end }} since the gate answered no_go, and no go since: the rollout tool does not ask the gate or does not obey it. Stop or roll back the rollout; if the no_go is wrong, override it (POST /v1/overrides) and let the tool ask again.",
		nil)
}

func (b *builder) complianceDrift() rulefmt.Rule {
	const name = config.AlertComplianceDrift
	target := b.cfg.Targets.CompliancePass
	expr := fmt.Sprintf("%s < %s", slo.RecordCompliancePass, number(target/100))
	return b.rule(name, SeverityTicket, b.withTeam(expr),
		"Compliance of {{ $labels.service }} in {{ $labels.cluster }} below "+percent(target),
		fmt.Sprintf("{{ $value | humanizePercentage }} of the compliance checks of {{ $labels.service }} in {{ $labels.cluster }} pass, below the %s target (targets.compliance_pass)%s.", percent(target), b.forText(name)),
		nil)
}

// hostPatchFailed opens a ticket per host that failed to install a patch,
// from the per-host input series.
func (b *builder) hostPatchFailed() rulefmt.Rule {
	const name = config.AlertHostPatchFailed
	expr := patchSeverity(fmt.Sprintf(`max by (cluster, service, severity, patch_id, host) (%s{status="failed"}) == 1`, HostStatus))
	return b.rule(name, SeverityTicket, b.withTeam(expr),
		"{{ $labels.host }} failed to install {{ $labels.patch_id }}",
		fmt.Sprintf("Host {{ $labels.host }} ({{ $labels.service }} in {{ $labels.cluster }}) failed to install {{ $labels.patch_id }} ({{ $labels.patch_severity }})%s.", b.forText(name)),
		nil)
}

// patchFailed opens a ticket per cluster, service and patch with failed
// assets, where no per-host series tell the hosts.
func (b *builder) patchFailed() rulefmt.Rule {
	const name = config.AlertPatchFailed
	expr := patchSeverity(fmt.Sprintf(`(sum by (cluster, service, severity, patch_id) (%s{status="failed"}) > 0)
unless on (cluster, service, patch_id)
%s`, slo.FleetAssets, HostStatus))
	return b.rule(name, SeverityTicket, b.withTeam(expr),
		"{{ $value }} asset(s) of {{ $labels.service }} in {{ $labels.cluster }} failed to install {{ $labels.patch_id }}",
		fmt.Sprintf("{{ $value }} asset(s) of {{ $labels.service }} in {{ $labels.cluster }} failed to install {{ $labels.patch_id }} ({{ $labels.patch_severity }})%s. Export %s to get one alert per host.", b.forText(name), HostStatus),
		nil)
}

func (b *builder) exposureWindow() rulefmt.Rule {
	const name = config.AlertExposureWindow
	target := time.Duration(b.cfg.Targets.ExposureWindow)
	expr := fmt.Sprintf("%s > %s\n", patchSeverity(slo.RecordExposureWindow), number(target.Seconds()))
	return b.rule(name, SeverityTicket, expr,
		"A {{ $labels.patch_severity }} patch has been open for {{ $value | humanizeDuration }}",
		fmt.Sprintf("The oldest open {{ $labels.patch_severity }} patch has been open for {{ $value | humanizeDuration }} since its disclosure (else its discovery), over the %s target (targets.exposure_window). The coverage report lists the open patches, oldest first.", days(config.Duration(target))),
		nil)
}

func (b *builder) coverage() rulefmt.Rule {
	const name = config.AlertCoverageUnderTarget
	target := b.cfg.Targets.PatchCoverage
	expr := fmt.Sprintf("%s < %s", patchSeverity(slo.RecordPatchCoverage), number(target/100))
	return b.rule(name, SeverityTicket, b.withTeam(expr),
		"Patch coverage of {{ $labels.service }} in {{ $labels.cluster }} is {{ $value | humanizePercentage }}",
		fmt.Sprintf("{{ $value | humanizePercentage }} of the eligible assets of {{ $labels.service }} in {{ $labels.cluster }} run their {{ $labels.patch_severity }} patches, below the %s target (targets.patch_coverage)%s.", percent(target), b.forText(name)),
		nil)
}

// budgetUsed opens a ticket when patching used more than
// PatchingBudgetPercent of an SLO's error budget (over its period) within
// BudgetWindow: the errors of the times the service was being patched,
// added up from RecordPatchingErrorRatio.
func (b *builder) budgetUsed() rulefmt.Rule {
	const name = config.AlertBudgetUsedByPatching
	t := b.a.Thresholds
	window := time.Duration(t.BudgetWindow)
	expr := fmt.Sprintf(`(
  sum_over_time(%[1]s[%[2]s]) * %[3]s
/ on (sloth_id) group_left ()
  (slo:error_budget:ratio * on (sloth_id) slo:time_period:days * 86400)
) > %[4]s`, RecordPatchingErrorRatio, promDuration(window), number(recordInterval.Seconds()), number(t.PatchingBudgetPercent/100))
	return b.rule(name, SeverityTicket, b.withTeam(expr),
		"Patching used {{ $value | humanizePercentage }} of the error budget of {{ $labels.service }} in "+days(t.BudgetWindow),
		fmt.Sprintf("While {{ $labels.service }} was being patched (the gate answered for it within the last %s), its {{ $labels.sloth_slo }} SLO used {{ $value | humanizePercentage }} of its error budget over the last %s, over the %s limit. Slow down or pause its non-critical rollouts.", promDuration(patchingActiveFor), days(t.BudgetWindow), percent(t.PatchingBudgetPercent)),
		nil)
}

// number prints v as PromQL reads it back: the shortest exact form.
func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// percent prints a percentage such as 95%.
func percent(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) + "%" }

// promDuration prints d as PromQL reads it: 10m, 1w.
func promDuration(d time.Duration) string { return model.Duration(d).String() }

// days prints d as people write it: whole days as days (7d, not 1w).
func days(d config.Duration) string {
	const day = config.Duration(24 * time.Hour)
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}
