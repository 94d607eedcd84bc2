package slo

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	slothmodel "github.com/slok/sloth/pkg/common/model"
	"github.com/slok/sloth/pkg/lib"
	promv1 "github.com/slok/sloth/pkg/prometheus/api/v1"

	"github.com/patchgate/patchgate/internal/config"
)

// AlertName is the alertname of the burn-rate alerts generated for a
// service's own SLO. Sloth writes two rules with it, told apart by
// sloth_severity (and severity): page and ticket.
const AlertName = "ErrorBudgetBurn"

// Generator turns SLOs into Prometheus rules with Sloth's library
// (github.com/slok/sloth/pkg/lib). It is safe for concurrent use.
type Generator struct {
	extraLabels map[string]string

	mu    sync.Mutex
	sloth map[time.Duration]*lib.PrometheusSLOGenerator // by default SLO period
}

// GeneratorConfig configures a Generator.
type GeneratorConfig struct {
	// ExtraLabels are added to every rule Sloth writes.
	ExtraLabels map[string]string
}

// NewGenerator returns a Generator. Sloth's generators (one per SLO period,
// as a Sloth prometheus/v1 spec has no period of its own) are made on first
// use.
func NewGenerator(cfg GeneratorConfig) *Generator {
	return &Generator{extraLabels: maps.Clone(cfg.ExtraLabels), sloth: map[time.Duration]*lib.PrometheusSLOGenerator{}}
}

// Sloth returns Sloth's generator for SLOs whose spec gives no period of
// its own, with patchgate's windows catalogue (slo/windows).
func (g *Generator) Sloth(period time.Duration) (*lib.PrometheusSLOGenerator, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.sloth[period]; ok {
		return s, nil
	}
	if !slices.Contains(config.SlothPeriods(), config.Duration(period)) {
		return nil, fmt.Errorf("no alert windows for an SLO period of %s: Sloth's rules can be generated for %s",
			periodString(period), periodList())
	}
	s, err := lib.NewPrometheusSLOGenerator(lib.PrometheusSLOGeneratorConfig{
		WindowsFS:        windowsCatalogue(),
		DefaultSLOPeriod: period,
		ExtraLabels:      g.extraLabels,
	})
	if err != nil {
		return nil, fmt.Errorf("sloth: %w", err)
	}
	g.sloth[period] = s
	return s, nil
}

// ServiceSpec is the Sloth prometheus/v1 spec of a service's own SLO in
// patchgate.yaml: its SLI queries (already in Sloth's {{.window}} form) and
// objective, with page and ticket alerts labelled severity, service and
// team. An absent error series counts as zero errors while requests are
// measured, as in the gate's burn_rate check: the error query becomes
// `(errors) or (0 * (total))`, so that a window without errors records a
// ratio of 0, not no ratio at all.
func ServiceSpec(s *config.Service) promv1.Spec {
	labels := map[string]string{"service": s.Name}
	if s.Team != "" {
		labels["team"] = s.Team
	}
	return promv1.Spec{
		Version: promv1.Version,
		Service: s.Name,
		SLOs: []promv1.SLO{{
			Name:        s.SLO.Name,
			Objective:   s.SLO.Objective,
			Description: fmt.Sprintf("Requests of %s that do not fail, from the service's SLI in patchgate.yaml.", s.Name),
			SLI: promv1.SLI{Events: &promv1.SLIEvents{
				ErrorQuery: fmt.Sprintf("(%s) or (0 * (%s))", s.SLI.Errors, s.SLI.Total),
				TotalQuery: s.SLI.Total,
			}},
			Alerting: promv1.Alerting{
				Name:   AlertName,
				Labels: labels,
				PageAlert: promv1.Alert{
					Labels: map[string]string{"severity": "page"},
					Annotations: map[string]string{
						"description": "{{$labels.sloth_service}} burns its {{$labels.sloth_slo}} error budget too fast in both windows of a page pair (1h and 5m, or 6h and 30m): slo:sli_error:ratio_rate* hold the error ratios.",
					},
				},
				TicketAlert: promv1.Alert{
					Labels: map[string]string{"severity": "ticket"},
					Annotations: map[string]string{
						"description": "{{$labels.sloth_service}} burns its {{$labels.sloth_slo}} error budget too fast in both windows of a ticket pair (1d and 2h, or 3d and 6h): slo:sli_error:ratio_rate* hold the error ratios.",
					},
				},
			},
		}},
	}
}

// Result is the rules of one service: its own SLO and those of its spec files.
type Result struct {
	Service string
	Group   slothmodel.PromSLOGroupResult
}

// SLO describes one generated SLO for messages: "checkout/requests 99.9%
// over 30d".
func (r *Result) SLOs() []string {
	out := make([]string, 0, len(r.Group.SLOResults))
	for _, s := range r.Group.SLOResults {
		out = append(out, fmt.Sprintf("%s/%s %g%% over %s", s.SLO.Service, s.SLO.Name, s.SLO.Objective, periodString(s.SLO.TimeWindow)))
	}
	return out
}

// Counts returns the number of recording and alerting rules.
func (r *Result) Counts() (recording, alerting int) {
	for _, s := range r.Group.SLOResults {
		for _, g := range groupsOf(s.PrometheusRules) {
			for _, rule := range g.Rules {
				if rule.Alert != "" {
					alerting++
				} else {
					recording++
				}
			}
		}
	}
	return recording, alerting
}

// groupsOf lists an SLO's rule groups in the order Sloth writes them.
func groupsOf(p slothmodel.PromSLORules) []slothmodel.PromRuleGroup {
	return append([]slothmodel.PromRuleGroup{p.SLIErrorRecRules, p.MetadataRecRules, p.AlertRules}, p.ExtraRules...)
}

// service generates the rules of one service of cfg: its own SLO, then
// the SLOs of its spec files, in order; path is the service's field path
// (services[3]) in errors.
func (g *Generator) service(ctx context.Context, cfg *config.Config, s *config.Service, path string) (*Result, error) {
	period := time.Duration(s.SLO.Period)
	sloth, err := g.Sloth(period)
	if err != nil {
		return nil, fmt.Errorf("%s.slo.period: %w", path, err)
	}
	own, err := sloth.GenerateFromSlothV1(ctx, ServiceSpec(s))
	if err != nil {
		return nil, fmt.Errorf("%s: the SLO built from sli and slo: %w", path, err)
	}
	res := &Result{Service: s.Name, Group: *own}
	ids := map[string]string{}
	for _, r := range own.SLOResults {
		ids[r.SLO.ID] = path + ".slo"
	}
	for i, f := range s.SLO.Specs {
		fp := fmt.Sprintf("%s.slo.specs[%d]", path, i)
		data, err := os.ReadFile(cfg.SpecPath(f))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fp, err)
		}
		got, err := sloth.GenerateFromRaw(ctx, data)
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", fp, f, err)
		}
		for _, r := range got.SLOResults {
			if r.SLO.Service != s.Name {
				return nil, fmt.Errorf("%s (%s): the spec is for service %q; a service's specs must be its own (%q)", fp, f, r.SLO.Service, s.Name)
			}
			if first, dup := ids[r.SLO.ID]; dup {
				return nil, fmt.Errorf("%s (%s): SLO %q is already defined by %s", fp, f, r.SLO.Name, first)
			}
			ids[r.SLO.ID] = fp
		}
		res.Group.SLOResults = append(res.Group.SLOResults, got.SLOResults...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return res, nil
}

// WritePrometheus writes r as a Prometheus rules file.
func (g *Generator) WritePrometheus(ctx context.Context, r *Result, w io.Writer) error {
	s, err := g.writer()
	if err != nil {
		return err
	}
	return s.WriteResultAsPrometheusStd(ctx, r.Group, w)
}

// WritePrometheusOperator writes r as a Prometheus Operator PrometheusRule.
func (g *Generator) WritePrometheusOperator(ctx context.Context, r *Result, meta slothmodel.K8sMeta, w io.Writer) error {
	s, err := g.writer()
	if err != nil {
		return err
	}
	return s.WriteResultAsK8sPrometheusOperator(ctx, meta, r.Group, w)
}

// writer is any of Sloth's generators: writing does not depend on the period.
func (g *Generator) writer() (*lib.PrometheusSLOGenerator, error) {
	return g.Sloth(time.Duration(config.DefaultSLOPeriod))
}

func periodString(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func periodList() string {
	ps := config.SlothPeriods()
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = periodString(time.Duration(p))
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
