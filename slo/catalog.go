package slo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
)

// Origin says where a series comes from.
type Origin string

const (
	// OriginExported: patchgate's /metrics (internal/lifecycle, the server).
	OriginExported Origin = "exported by patchgate"
	// OriginRecorded: a rule `patchgate generate rules` writes (Sloth's
	// or patchgate's lifecycle rules).
	OriginRecorded Origin = "recorded by a generated rule"
	// OriginInput: the fleet input contract of docs/metrics.md.
	OriginInput Origin = "fleet input contract"
	// OriginSLI: read by a service's SLI (patchgate.yaml or its spec files):
	// the service's own metrics.
	OriginSLI Origin = "read by a service SLI"
	// OriginPrometheus: written by Prometheus itself.
	OriginPrometheus Origin = "written by Prometheus"
)

// Catalog maps every series patchgate's rules, dashboards and report may
// read to where it comes from.
type Catalog map[string]Origin

// KnownMetrics returns the catalog for cfg: what patchgate exports, what
// the rules generated for cfg record, the fleet input contract, the
// metrics the services' SLIs read, and ALERTS.
func (g *Generator) KnownMetrics(ctx context.Context, cfg *config.Config) (Catalog, error) {
	c := Catalog{"ALERTS": OriginPrometheus, "ALERTS_FOR_STATE": OriginPrometheus}
	for _, m := range lifecycle.Metrics() {
		for _, s := range m.Series() {
			c[s] = OriginExported
		}
	}
	c[FleetAssets] = OriginInput
	c[FleetComplianceChecks] = OriginInput
	for _, grp := range LifecycleRules(cfg.Targets) {
		for _, r := range grp.Rules {
			if r.Record != "" {
				c[r.Record] = OriginRecorded
			}
		}
	}
	for i := range cfg.Services {
		res, err := g.service(ctx, cfg, &cfg.Services[i], fmt.Sprintf("services[%d]", i))
		if err != nil {
			return nil, err
		}
		for _, r := range res.Group.SLOResults {
			sli := r.SLO.SLI
			var queries []string
			if sli.Events != nil {
				queries = append(queries, sli.Events.ErrorQuery, sli.Events.TotalQuery)
			}
			if sli.Raw != nil {
				queries = append(queries, sli.Raw.ErrorRatioQuery)
			}
			for _, q := range queries {
				names, err := sliMetrics(q)
				if err != nil {
					return nil, fmt.Errorf("service %s, SLO %s: %w", r.SLO.Service, r.SLO.Name, err)
				}
				for _, n := range names {
					if _, ok := c[n]; !ok {
						c[n] = OriginSLI
					}
				}
			}
			for _, grp := range groupsOf(r.PrometheusRules) {
				for _, rule := range grp.Rules {
					if rule.Record != "" {
						c[rule.Record] = OriginRecorded
					}
				}
			}
		}
	}
	return c, nil
}

// Metrics returns the metric names a PromQL expression reads, sorted.
func Metrics(expr string) ([]string, error) {
	e, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	seen := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			if name == "" {
				name = vs.String()
			}
			seen[name] = true
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// sliMetrics reads the metric names of an SLI query in Sloth's template
// form ({{.window}}, {{ .window }}).
func sliMetrics(q string) ([]string, error) {
	return Metrics(config.ExpandWindow(q, 5*time.Minute))
}
