package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/alerts"
	"github.com/patchgate/patchgate/dashboards"
	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/slo"
)

// input is one series patchgate reads that something else must write.
type input struct {
	name, typ string
	labels    []string
	producer  string
	// readBy says what needs it; required inputs make --check fail.
	readBy   string
	required bool
	// values are the values a label may take ("" when free).
	label  string
	values []string
}

// inputsOf lists the series the configuration makes patchgate read that
// it neither exports nor records: the services' SLI metrics, the fleet
// input contract (docs/metrics.md), and what the alerts and the debug
// dashboard read from the cluster and the agents.
func inputsOf(ctx context.Context, cfg *config.Config) ([]input, error) {
	catalog, err := slo.NewGenerator(slo.GeneratorConfig{}).KnownMetrics(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var out []input
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n, o := range catalog {
			if o == slo.OriginSLI && !yield(n) {
				return
			}
		}
	}) {
		out = append(out, input{name: name, producer: "the service's own instrumentation", readBy: "the gate's checks and the SLO rules", required: true})
	}
	// The series the latency and custom checks of each stage read.
	checks := map[string]string{} // series → what reads it
	for i := range cfg.Services {
		svc := &cfg.Services[i]
		for j := range svc.Stages {
			c := svc.EffectiveChecks(&svc.Stages[j])
			if l := c.LatencyDelta; l != nil {
				checks[l.Histogram+"_bucket"] = "latency_delta of " + svc.Name
			}
			for _, p := range c.PromQL {
				names, err := slo.Metrics(config.ExpandWindow(p.Query, 5*time.Minute))
				if err != nil {
					return nil, fmt.Errorf("service %s, promql check %s: %w", svc.Name, p.Name, err)
				}
				for _, n := range names {
					checks[n] = fmt.Sprintf("promql check %s of %s", p.Name, svc.Name)
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		if _, known := catalog[name]; !known {
			out = append(out, input{name: name, producer: "the service's own instrumentation", readBy: checks[name], required: true})
		}
	}
	for _, m := range slo.InputContract() {
		in := input{name: m.Name, typ: m.Type, labels: m.Labels, producer: "the fleet inventory and patch agents (docs/metrics.md)",
			readBy: "the coverage and compliance rules, the report, the executive dashboard", required: true}
		switch m.Name {
		case slo.FleetAssets:
			in.label, in.values = "status", slo.FleetAssetStatuses()
		case slo.FleetComplianceChecks:
			in.label, in.values = "result", slo.ComplianceResults()
		}
		out = append(out, in)
	}
	for _, m := range alerts.Inputs() {
		out = append(out, input{name: m.Name, typ: m.Type, labels: m.Labels, producer: "node_exporter or the patch agents", readBy: "the patch alerts (optional)"})
	}
	for _, m := range dashboards.Inputs() {
		if slices.ContainsFunc(out, func(in input) bool { return in.name == m.Name }) {
			continue
		}
		out = append(out, input{name: m.Name, typ: m.Type, labels: m.Labels, producer: m.Producer, readBy: "the debug dashboard (optional)"})
	}
	return out, nil
}

// runInputs lists the series patchgate needs from others and, with
// --check, asks the configured metric source which are there.
func runInputs(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("inputs", stderr)
	path := fs.String("config", "patchgate.yaml", "configuration file")
	check := fs.Bool("check", false, "ask the configured metric source which inputs it holds now, and which label values it holds that patchgate does not know")
	if err := parse(fs, args); err != nil {
		return exitError, err
	}
	cfg, err := config.LoadWithoutSecrets(*path)
	if err != nil {
		return exitError, err
	}
	ins, err := inputsOf(ctx, cfg)
	if err != nil {
		return exitError, err
	}
	var src gate.Querier
	if *check {
		s, err := openSource(cfg.Source)
		if err != nil {
			return exitError, err
		}
		defer s.Close()
		src = s
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	head := "SERIES\tNEEDED BY\tWRITTEN BY"
	if *check {
		head += "\tNOW"
	}
	fmt.Fprintln(tw, head)
	missing := 0
	for _, in := range ins {
		line := fmt.Sprintf("%s\t%s\t%s", in.name, in.readBy, in.producer)
		if *check {
			state, err := probe(ctx, src, in, time.Now())
			if err != nil {
				return exitError, err
			}
			if state == "absent" && in.required {
				missing++
				state = "ABSENT"
			}
			line += "\t" + state
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return exitError, err
	}
	if *check && missing > 0 {
		return exitProblems, fmt.Errorf("%d required input(s) absent from %s: the checks, rules or report that read them will have no data", missing, cfg.Source.Type)
	}
	return exitOK, nil
}

// probe says whether the source holds a series now, and names label
// values patchgate does not know.
func probe(ctx context.Context, src gate.Querier, in input, now time.Time) (string, error) {
	q := fmt.Sprintf("count({__name__=%q})", in.name)
	if in.label != "" {
		q = fmt.Sprintf("count by (%s) ({__name__=%q})", in.label, in.name)
	}
	if in.typ == "histogram" {
		q = fmt.Sprintf("count({__name__=%q})", in.name+"_bucket")
	}
	vec, err := src.Query(ctx, q, now)
	if err != nil {
		return "", fmt.Errorf("%s: %w", in.name, err)
	}
	if len(vec) == 0 {
		return "absent", nil
	}
	n := 0.0
	var unknown []string
	for _, s := range vec {
		n += float64(s.Value)
		if v := string(s.Metric[model.LabelName(in.label)]); in.label != "" && !slices.Contains(in.values, v) {
			unknown = append(unknown, fmt.Sprintf("%s=%q", in.label, v))
		}
	}
	state := fmt.Sprintf("present (%g series)", n)
	if len(unknown) > 0 {
		slices.Sort(unknown)
		state += fmt.Sprintf("; unknown %s (want one of %s): not counted", strings.Join(unknown, ", "), strings.Join(in.values, ", "))
	}
	return state, nil
}
