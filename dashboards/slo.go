package dashboards

import (
	"fmt"
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/patchgate/patchgate/internal/config"
)

// Sloth's recording rules (slo/ generates them with Sloth's library).
const (
	slothSLIError       = "slo:sli_error:ratio_rate" // + window, e.g. 5m
	slothObjective      = "slo:objective:ratio"
	slothErrorBudget    = "slo:error_budget:ratio"
	slothCurrentBurn    = "slo:current_burn_rate:ratio"
	slothPeriodBurn     = "slo:period_burn_rate:ratio"
	slothBudgetLeft     = "slo:period_error_budget_remaining:ratio"
	slothShortestWindow = "5m"
)

// sloByCluster keeps the series of the clusters picked and the series
// without a cluster label. Sloth's series carry a cluster only where the
// SLI keeps one or Thanos or Mimir add it as an external label; a series
// without one stands for the whole service, whatever cluster is picked.
var sloByCluster = labels.MustNewMatcher(labels.MatchRegexp, "cluster", "$cluster|")

func sloSeries(metric string, withCluster bool) string {
	if withCluster {
		return sel(metric, bySlothService, bySlothSLO, sloByCluster)
	}
	return sel(metric, bySlothService, bySlothSLO)
}

// burnRate is the burn rate over one of Sloth's windows: the error ratio
// over the window divided by the error budget (1 - objective).
func burnRate(window string) string {
	return fmt.Sprintf("%s / on (sloth_id) group_left () %s",
		sloSeries(slothSLIError+window, true), sloSeries(slothErrorBudget, false))
}

func sloDashboard(s *config.Service) *builder {
	windows := config.DefaultBurnWindows()
	minBudget := 0.0
	if br := s.Checks.BurnRate; br != nil {
		windows, minBudget = br.Windows, br.MinBudgetRemaining
	}
	factors := make([]float64, 0, len(windows))
	for _, w := range windows {
		factors = append(factors, w.Factor)
	}
	sort.Float64s(factors)
	burnSteps := base("green")
	colors := []string{"orange", "red"}
	for i, f := range factors {
		burnSteps = burnSteps.from(f, colors[min(i, len(colors)-1)])
	}
	budgetSteps := base("red").from(minBudget, "orange").from(minBudget+(1-minBudget)/4, "green")
	objective := s.SLO.Objective / 100

	b := newDashboard("now-7d", "1m").
		Description(fmt.Sprintf("The SLOs of %s from Sloth's recording rules: objective %g%% over %s. Burn-rate thresholds are the gate's burn_rate windows. Series without a cluster label (an SLI summed over clusters) show whatever cluster is picked.",
			s.Name, s.SLO.Objective, s.SLO.Period)).
		WithVariable(datasourceVariable()).
		WithVariable(constantVariable("service", s.Name)).
		WithVariable(queryVariable("slo", "SLO", fmt.Sprintf("label_values(%s, sloth_slo)", sel(slothObjective, bySlothService)))).
		// Sloth's series have no cluster label where the SLI sums it away:
		// the clusters are those of the service's fleet series.
		WithVariable(queryVariable("cluster", "Cluster", fmt.Sprintf("label_values(%s, cluster)", sel(metricAssets, eq("service", s.Name))))).
		Annotation(decisionAnnotations("patchgate decisions", "blue", TagPatchgate, Tag("service", s.Name)))

	b.WithRow(row(100, 0, "Now"))
	b.WithPanel(statPanel(panel{id: 1, pos: at(0, 1, 4, 5), unit: "percentunit",
		title: "Objective", desc: "The SLO's objective over its period."},
		nil, q(sloSeries(slothObjective, false), "{{sloth_slo}}")).Decimals(3))
	b.WithPanel(statPanel(panel{id: 2, pos: at(4, 1, 5, 5), unit: "percentunit",
		title: "SLI over 5 minutes", desc: "Share of good events over the last 5 minutes."},
		base("red").from(objective, "green"),
		q("1 - "+sloSeries(slothSLIError+slothShortestWindow, true), "{{sloth_slo}}")).Decimals(3))
	b.WithPanel(statPanel(panel{id: 3, pos: at(9, 1, 5, 5), unit: "percentunit",
		title: "Error budget remaining", desc: "Over the SLO period; below zero, the SLO is broken."},
		budgetSteps, q(sloSeries(slothBudgetLeft, true), "{{sloth_slo}}")))
	b.WithPanel(statPanel(panel{id: 4, pos: at(14, 1, 5, 5), unit: "x",
		title: "Current burn rate", desc: "Error ratio over the last 5 minutes divided by the error budget."},
		burnSteps, q(sloSeries(slothCurrentBurn, true), "{{sloth_slo}}")))
	b.WithPanel(statPanel(panel{id: 5, pos: at(19, 1, 5, 5), unit: "x",
		title: "Burn rate over the period", desc: "Above 1, the budget will not last the period."},
		base("green").from(1, "red"), q(sloSeries(slothPeriodBurn, true), "{{sloth_slo}}")))

	b.WithRow(row(101, 6, "Burn rates"))
	var burns []query
	for _, w := range config.SlothWindows() {
		win := model.Duration(w).String()
		burns = append(burns, q(burnRate(win), "{{sloth_slo}} "+win))
	}
	b.WithPanel(timeseriesPanel(panel{id: 6, pos: at(0, 7, 24, 9), unit: "x",
		title: "Burn rate per window",
		desc:  "Error ratio over each window Sloth records, divided by the error budget. Dashed: the factors of the gate's burn_rate windows."},
		burnSteps, burns...))

	b.WithRow(row(102, 16, "Error budget and SLI"))
	b.WithPanel(timeseriesPanel(panel{id: 7, pos: at(0, 17, 12, 8), unit: "percentunit",
		title: "Error budget remaining", desc: "Over the SLO period."},
		budgetSteps, q(sloSeries(slothBudgetLeft, true), "{{sloth_slo}}")))
	b.WithPanel(timeseriesPanel(panel{id: 8, pos: at(12, 17, 12, 8), unit: "percentunit",
		title: "SLI over time", desc: "Share of good events over 5 minutes and over 1 hour, against the objective."},
		nil,
		q("1 - "+sloSeries(slothSLIError+slothShortestWindow, true), "{{sloth_slo}} 5m"),
		q("1 - "+sloSeries(slothSLIError+"1h", true), "{{sloth_slo}} 1h"),
		q(sloSeries(slothObjective, false), "objective {{sloth_slo}}")).Decimals(3))
	return b
}
