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
	metricLatencyDelta   = lifecycle.CanaryLatencyDelta
	metricLatencyP99     = lifecycle.CanaryLatencyP99
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
		delta.OverrideByRegexp("^"+marginPrefix, marginStyle())
	}
	b.WithPanel(delta)
	latencyRow(b, cfg)

	b.WithRow(row(101, 18, "Decisions"))
	b.WithPanel(barsPanel(panel{id: 3, pos: at(0, 19, 8, 9), unit: "short",
		title: "Decisions by verdict",
		desc:  "Decisions the gate answered, by the verdict it evaluated and its mode: in shadow mode (mode=shadow) the answer was go whatever the verdict."},
		q(fmt.Sprintf("sum by (decision, mode) (increase(%s[$__rate_interval]))", sel(metricDecisions, byService)), "{{decision}} ({{mode}})")))
	b.WithPanel(annotationsPanel(panel{id: 4, pos: at(8, 19, 10, 9),
		title: "Recent no_go decisions and their reasons",
		desc:  "The gate's annotations: tags name the service, patch, stage and verdict (and mode:shadow for a stage in shadow mode, whose answer was go); the text is the decision's reason."},
		[]string{TagPatchgate, noGo}, 20))
	b.WithPanel(tablePanel(panel{id: 5, pos: at(18, 19, 6, 9), unit: "short",
		title: "no_go decisions by service and stage",
		desc:  "Over the time range; mode=shadow rows are no_go verdicts of stages in shadow mode, which were answered go."},
		nil,
		q(fmt.Sprintf("sum by (service, stage, mode) (increase(%s[$__range])) > 0", sel(metricDecisions, byService, eq("decision", "no_go"))), "")))

	b.WithRow(row(102, 28, "Rollbacks and incidents"))
	b.WithPanel(instantStat(panel{id: 6, pos: at(0, 29, 4, 8), unit: "short",
		title: "Rollbacks",
		desc:  "Rollbacks over the time range, by service and cluster."},
		base("green").from(1, "orange"),
		q(fmt.Sprintf("sum by (service, cluster) (%s)", oneReplica(fmt.Sprintf("increase(%s[$__range])", sel(metricRollbacks, byCluster, byService)))), "{{service}} {{cluster}}")))
	b.WithPanel(barsPanel(panel{id: 7, pos: at(4, 29, 14, 8), unit: "short",
		title: "Rollbacks over time"},
		q(fmt.Sprintf("sum by (service, cluster) (%s)", oneReplica(fmt.Sprintf("increase(%s[$__rate_interval])", sel(metricRollbacks, byCluster, byService)))), "{{service}} {{cluster}}")))
	b.WithPanel(instantStat(panel{id: 8, pos: at(18, 29, 6, 8), unit: "s",
		title: "Median time to roll back",
		desc:  fmt.Sprintf("From the rolled-back stage's start to the rollback, over the time range. Target %s.", t.TimeToRollback)},
		rollbackSteps,
		q(fmt.Sprintf("histogram_quantile(0.5, sum by (le) (%s))", oneReplica(fmt.Sprintf("increase(%s[$__range])", sel(metricTimeToRollback+"_bucket", byCluster, byService)))), "median")))
	b.WithPanel(instantStat(panel{id: 9, pos: at(0, 37, 4, 8), unit: "short",
		title: "Patch-induced incidents",
		desc:  "Incidents attributed to a patch over the time range, by severity."},
		base("green").from(1, "red"),
		q(fmt.Sprintf("sum by (severity) (%s)", oneReplica(fmt.Sprintf("increase(%s[$__range])", sel(metricIncidents, byCluster, byService)))), "{{severity}}")))
	b.WithPanel(barsPanel(panel{id: 10, pos: at(4, 37, 20, 8), unit: "short",
		title: "Patch-induced incidents over time"},
		q(fmt.Sprintf("sum by (severity, service, cluster) (%s)", oneReplica(fmt.Sprintf("increase(%s[$__rate_interval])", sel(metricIncidents, byCluster, byService)))), "{{severity}} {{service}} {{cluster}}")))
	return b
}

// latencyRow shows, for active rollouts, the canary against the baseline
// as the gate's latency_delta check saw them in its newest decision: both
// arms' p99 and the canary's share of slow requests minus the baseline's,
// with each stage's margin.
func latencyRow(b *builder, cfg *config.Config) {
	b.WithRow(row(103, 9, "Canary latency"))
	p99 := timeseriesPanel(panel{id: 11, pos: at(0, 10, 12, 8), unit: latencyUnit(cfg),
		title: "Canary and baseline p99 latency per rollout",
		desc:  "p99 of the canary (solid) and of the baseline (dashed) over the stage window, from the latency_delta check's histogram buckets in the gate's newest decision of each active rollout (patchgate_canary_latency_p99). Rollouts of services without latency_delta show nothing here."},
		base("transparent"),
		q(fmt.Sprintf("max by (service, patch_id, stage, track) (%s)", sel(metricLatencyP99, byService)), "{{service}} {{patch_id}} {{stage}} {{track}}"))
	p99.OverrideByRegexp(" baseline$", []dashboard.DynamicConfigValue{
		{Id: "custom.lineStyle", Value: map[string]any{"fill": "dash", "dash": []int{10, 10}}},
	})
	b.WithPanel(p99)
	deltas := []query{q(fmt.Sprintf("max by (service, patch_id, stage) (%s)", sel(metricLatencyDelta, byService)), "{{service}} {{patch_id}} {{stage}}")}
	m := marginsOf(cfg, metricLatencyDelta, func(c config.Checks) (float64, bool) {
		if c.LatencyDelta == nil {
			return 0, false
		}
		return c.LatencyDelta.MarginPP, true
	})
	if m != "" {
		deltas = append(deltas, q(m, marginPrefix+"{{service}} {{stage}}"))
	}
	slow := timeseriesPanel(panel{id: 12, pos: at(12, 10, 12, 8), unit: "percentunit",
		title: "Canary slow requests minus baseline per rollout",
		desc:  "Share of the canary's requests slower than latency_delta's threshold minus the baseline's (patchgate_canary_latency_delta_ratio). Dotted red, per rollout: the margin of the stage's latency_delta check (no_go once the canary is established worse by more)."},
		base("transparent"), deltas...)
	if m != "" {
		slow.OverrideByRegexp("^"+marginPrefix, marginStyle())
	}
	b.WithPanel(slow)
}

// latencyUnit is Grafana's unit of the latency_delta histograms: seconds or
// milliseconds when every one says so in its name, else none.
func latencyUnit(cfg *config.Config) string {
	unit := ""
	for i := range cfg.Services {
		s := &cfg.Services[i]
		for j := range s.Stages {
			l := s.EffectiveChecks(&s.Stages[j]).LatencyDelta
			if l == nil {
				continue
			}
			u := "short"
			switch {
			case strings.HasSuffix(l.Histogram, "_seconds"):
				u = "s"
			case strings.HasSuffix(l.Histogram, "_milliseconds"):
				u = "ms"
			}
			if unit != "" && unit != u {
				return "short"
			}
			unit = u
		}
	}
	if unit == "" {
		return "s"
	}
	return unit
}

// marginStyle draws a margin series dotted red.
func marginStyle() []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{
		{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": "red"}},
		{Id: "custom.lineStyle", Value: map[string]any{"fill": "dot", "dash": []int{0, 10}}},
		{Id: "custom.fillOpacity", Value: 0},
	}
}

// margins is a query that draws, beside each rollout's canary error
// delta, the margin of its stage's error_delta check: one constant series
// per service and stage present in the gauge. "" when no stage has one.
func margins(cfg *config.Config) string {
	return marginsOf(cfg, metricCanaryDelta, func(c config.Checks) (float64, bool) {
		if c.ErrorDelta == nil {
			return 0, false
		}
		return c.ErrorDelta.MarginPP, true
	})
}

// marginsOf is margins for any per-rollout gauge and the check margin
// margin returns.
func marginsOf(cfg *config.Config, metric string, margin func(config.Checks) (float64, bool)) string {
	var terms []string
	for i := range cfg.Services {
		s := &cfg.Services[i]
		stagesByMargin := map[float64][]string{}
		for j := range s.Stages {
			st := &s.Stages[j]
			if pp, ok := margin(s.EffectiveChecks(st)); ok {
				stagesByMargin[pp] = append(stagesByMargin[pp], st.Name)
			}
		}
		pps := make([]float64, 0, len(stagesByMargin))
		for pp := range stagesByMargin {
			pps = append(pps, pp)
		}
		sort.Float64s(pps)
		for _, pp := range pps {
			series := sel(metric, byService, eq("service", s.Name), slo.AnyOf("stage", stagesByMargin[pp]...))
			terms = append(terms, fmt.Sprintf("(0 * max by (service, stage) (%s) + %s)", series, strconv.FormatFloat(pp/100, 'g', -1, 64)))
		}
	}
	return strings.Join(terms, " or ")
}
