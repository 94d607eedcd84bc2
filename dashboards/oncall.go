package dashboards

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/slo"
)

const (
	// The canary error delta per rollout as recorded across gate replicas
	// (max by service, patch_id and stage).
	metricCanaryDelta    = slo.RecordCanaryErrorDelta
	metricDecisions      = lifecycle.Decisions
	metricRollbacks      = lifecycle.Rollbacks
	metricTimeToRollback = lifecycle.TimeToRollback
	metricIncidents      = lifecycle.Incidents
)

// Annotation tags. Every decision annotation carries TagPatchgate and one
// "key:value" tag each for the service, patch, stage and verdict.
const TagPatchgate = "patchgate"

// Tag is the "key:value" annotation tag, e.g. Tag("verdict", "no_go").
func Tag(key, value string) string { return key + ":" + value }

// marginPrefix starts the legend of the margin series drawn beside each
// rollout's canary error delta.
const marginPrefix = "margin "

func onCall(cfg *config.Config, services []string) *builder {
	t := cfg.Targets
	deltaTarget := t.CanaryErrorDeltaPP / 100
	rollbackSteps := base("green").from(seconds(t.TimeToRollback), "red")
	noGo := Tag("verdict", "no_go")

	b := newDashboard("now-6h", "30s").
		Description("Rollouts in flight: their stage, the canary against the baseline, the gate's no_go decisions with their reasons, rollbacks and incidents. Decisions are annotated here when patchgate serve has grafana.url.").
		WithVariable(datasourceVariable()).
		WithVariable(queryVariable("cluster", "Cluster", fmt.Sprintf("label_values(%s, cluster)", metricAssets))).
		WithVariable(serviceVariable(services)).
		// The built-in annotations show every decision annotated here;
		// this marks the no_go ones in red.
		Annotation(decisionAnnotations("patchgate no_go", "red", TagPatchgate, noGo))

	b.WithRow(row(100, 0, "Rollouts"))
	b.WithPanel(tablePanel(panel{id: 1, pos: at(0, 1, 10, 8), unit: "percentunit",
		title: "Active rollouts",
		desc:  "Rollouts whose newest decision (at most 30 minutes old) has a canary error delta estimate: service, patch, current stage, and the canary's error rate minus the baseline's. Stages without error_delta (100%) show in the decision panels below."},
		base("green").from(deltaTarget, "red"),
		q(fmt.Sprintf("max by (service, patch_id, stage) (%s)", sel(metricCanaryDelta, byService)), "")))
	deltas := []query{q(sel(metricCanaryDelta, byService), "{{service}} {{patch_id}} {{stage}}")}
	m := margins(cfg)
	if m != "" {
		deltas = append(deltas, q(m, marginPrefix+"{{service}} {{stage}}"))
	}
	delta := timeseriesPanel(panel{id: 2, pos: at(10, 1, 14, 8), unit: "percentunit",
		title: "Canary error delta per rollout",
		desc: fmt.Sprintf("Canary error rate minus the baseline's. Dotted red, per rollout: the margin of the stage's error_delta check (no_go once the canary is established worse by more). Dashed: the %gpp target (targets.canary_error_delta_pp).",
			t.CanaryErrorDeltaPP)},
		base("transparent").from(deltaTarget, "red"), deltas...)
	if m != "" {
		delta.OverrideByRegexp("^"+marginPrefix, []dashboard.DynamicConfigValue{
			{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
			{Id: "custom.lineStyle", Value: map[string]any{"fill": "dot", "dash": []int{0, 10}}},
			{Id: "custom.fillOpacity", Value: 0},
		})
	}
	b.WithPanel(delta)

	b.WithRow(row(101, 9, "Decisions"))
	b.WithPanel(barsPanel(panel{id: 3, pos: at(0, 10, 8, 9), unit: "short",
		title: "Decisions by verdict",
		desc:  "Decisions the gate answered, by the verdict it evaluated and its mode: in shadow mode (mode=shadow) the answer was go whatever the verdict."},
		q(fmt.Sprintf("sum by (decision, mode) (increase(%s[$__rate_interval]))", sel(metricDecisions, byService)), "{{decision}} ({{mode}})")))
	b.WithPanel(annotationsPanel(panel{id: 4, pos: at(8, 10, 10, 9),
		title: "Recent no_go decisions and their reasons",
		desc:  "The gate's annotations: tags name the service, patch, stage and verdict (and mode:shadow for a stage in shadow mode, whose answer was go); the text is the decision's reason."},
		[]string{TagPatchgate, noGo}, 20))
	b.WithPanel(tablePanel(panel{id: 5, pos: at(18, 10, 6, 9), unit: "short",
		title: "no_go decisions by service and stage",
		desc:  "Over the time range; mode=shadow rows are no_go verdicts of stages in shadow mode, which were answered go."},
		nil,
		q(fmt.Sprintf("sum by (service, stage, mode) (increase(%s[$__range])) > 0", sel(metricDecisions, byService, eq("decision", "no_go"))), "")))

	b.WithRow(row(102, 19, "Rollbacks and incidents"))
	b.WithPanel(instantStat(panel{id: 6, pos: at(0, 20, 4, 8), unit: "short",
		title: "Rollbacks",
		desc:  "Rollbacks over the time range, by service and cluster."},
		base("green").from(1, "orange"),
		q(fmt.Sprintf("sum by (service, cluster) (%s)", oneReplica(fmt.Sprintf("increase(%s[$__range])", sel(metricRollbacks, byCluster, byService)))), "{{service}} {{cluster}}")))
	b.WithPanel(barsPanel(panel{id: 7, pos: at(4, 20, 14, 8), unit: "short",
		title: "Rollbacks over time"},
		q(fmt.Sprintf("sum by (service, cluster) (%s)", oneReplica(fmt.Sprintf("increase(%s[$__rate_interval])", sel(metricRollbacks, byCluster, byService)))), "{{service}} {{cluster}}")))
	b.WithPanel(instantStat(panel{id: 8, pos: at(18, 20, 6, 8), unit: "s",
		title: "Median time to roll back",
		desc:  fmt.Sprintf("From the rolled-back stage's start to the rollback, over the time range. Target %s.", t.TimeToRollback)},
		rollbackSteps,
		q(fmt.Sprintf("histogram_quantile(0.5, sum by (le) (%s))", oneReplica(fmt.Sprintf("increase(%s[$__range])", sel(metricTimeToRollback+"_bucket", byCluster, byService)))), "median")))
	b.WithPanel(instantStat(panel{id: 9, pos: at(0, 28, 4, 8), unit: "short",
		title: "Patch-induced incidents",
		desc:  "Incidents attributed to a patch over the time range, by severity."},
		base("green").from(1, "red"),
		q(fmt.Sprintf("sum by (severity) (%s)", oneReplica(fmt.Sprintf("increase(%s[$__range])", sel(metricIncidents, byCluster, byService)))), "{{severity}}")))
	b.WithPanel(barsPanel(panel{id: 10, pos: at(4, 28, 20, 8), unit: "short",
		title: "Patch-induced incidents over time"},
		q(fmt.Sprintf("sum by (severity, service, cluster) (%s)", oneReplica(fmt.Sprintf("increase(%s[$__rate_interval])", sel(metricIncidents, byCluster, byService)))), "{{severity}} {{service}} {{cluster}}")))
	return b
}

// margins is a query that draws, beside each rollout's canary error
// delta, the margin of its stage's error_delta check: one constant series
// per service and stage present in the gauge. "" when no stage has one.
func margins(cfg *config.Config) string {
	var terms []string
	for i := range cfg.Services {
		s := &cfg.Services[i]
		stagesByMargin := map[float64][]string{}
		for j := range s.Stages {
			st := &s.Stages[j]
			if ed := s.EffectiveChecks(st).ErrorDelta; ed != nil {
				stagesByMargin[ed.MarginPP] = append(stagesByMargin[ed.MarginPP], st.Name)
			}
		}
		pps := make([]float64, 0, len(stagesByMargin))
		for pp := range stagesByMargin {
			pps = append(pps, pp)
		}
		sort.Float64s(pps)
		for _, pp := range pps {
			series := sel(metricCanaryDelta, byService, eq("service", s.Name), slo.AnyOf("stage", stagesByMargin[pp]...))
			terms = append(terms, fmt.Sprintf("(0 * max by (service, stage) (%s) + %s)", series, strconv.FormatFloat(pp/100, 'g', -1, 64)))
		}
	}
	return strings.Join(terms, " or ")
}
