package gate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/slo"
)

// slothPolicy has one service per scenario, each with only the burn_rate
// check; the test flips sloth_rules_deployed.
const slothPolicy = `
source: {type: embedded}
services:
%s`

const slothService = `
  - name: %s
    sli:
      errors: sum(rate(http_requests_total{service="%[1]s",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="%[1]s"}[{{.window}}]))
    slo: {objective: 99, period: 30d, sloth_rules_deployed: %t}
    checks:
      burn_rate: {min_budget_remaining: 0.2}
    stages:
      - {name: all, max_wait: 20m}
`

// history is how long the scenarios run before the gate is asked: the 6h
// window full, and more.
const history = 7 * time.Hour

// burnScenario is one service's traffic: requests per second with error
// ratio p, and p2 over the last `last` of the history. noErrors writes no
// 5xx series at all; quiet writes no request series.
type burnScenario struct {
	service  string
	rps, p   float64
	p2       float64
	last     time.Duration
	noErrors bool
	quiet    bool
	want     CheckVerdict
}

// TestBurnRateSlothMatchesRaw proves that the burn_rate check gives the
// same answer whether it runs the SLI queries over raw series or reads the
// ratios Sloth's recording rules record from them: the rules generated for
// the service are evaluated through the embedded engine every minute over
// the history, and their results appended as recorded series, as
// Prometheus would.
func TestBurnRateSlothMatchesRaw(t *testing.T) {
	scenarios := []burnScenario{
		{service: "steady", rps: 20, p: 0.002, want: Pass},
		{service: "burst", rps: 20, p: 0.002, p2: 0.2, last: 65 * time.Minute, want: Fail},
		{service: "slow-burn", rps: 20, p: 0.002, p2: 0.08, last: 6 * time.Hour, want: Fail},
		{service: "no-errors", rps: 20, noErrors: true, want: Pass},
		{service: "quiet", quiet: true, want: Inconclusive},
	}
	f := newFixture(t)
	start := t0
	end := start.Add(history)
	var services []string
	for _, s := range scenarios {
		writeScenario(t, f.src, s, start, end)
		services = append(services, s.service)
	}
	raw := burnPolicy(t, services, false)
	recordSlothRules(t, f.src, raw, start, end)

	deployed := burnPolicy(t, services, true)
	for _, s := range scenarios {
		t.Run(s.service, func(t *testing.T) {
			got := map[bool]CheckResult{}
			for _, sloth := range []bool{false, true} {
				policy := raw
				if sloth {
					policy = deployed
				}
				e, err := New(Config{Policy: policy, Source: f.src, Store: f.store, Now: func() time.Time { return end }})
				if err != nil {
					t.Fatal(err)
				}
				d, err := e.Decide(context.Background(), Request{Service: s.service, PatchID: fmt.Sprintf("p-%t", sloth), Stage: "all"})
				if err != nil {
					t.Fatal(err)
				}
				got[sloth] = checkNamed(d, "burn_rate")
			}
			r, sl := got[false], got[true]
			if r.Verdict != s.want || sl.Verdict != s.want {
				t.Fatalf("verdicts raw %s, sloth %s; want %s\nraw:   %s\nsloth: %s", r.Verdict, sl.Verdict, s.want, r.Sentence, sl.Sentence)
			}
			if !strings.Contains(strings.Join(sl.Queries, " "), "slo:sli_error:ratio_rate1h{") || strings.Contains(strings.Join(sl.Queries, " "), "http_requests_total") {
				t.Errorf("the Sloth path ran %v, want recorded series only", sl.Queries)
			}
			// The windows' burn rates agree to rounding: both are the
			// same rate() ratios, once computed at ask time, once
			// recorded at the same instant.
			for _, k := range []string{"burn_5m", "burn_30m", "burn_1h", "burn_6h"} {
				a, b := r.Details[k], sl.Details[k]
				if math.Abs(a-b) > 1e-9*math.Max(1, math.Abs(a)) {
					t.Errorf("%s: raw %v, sloth %v", k, a, b)
				}
			}
			if (r.Observed == nil) != (sl.Observed == nil) || r.Observed != nil && math.Abs(*r.Observed-*sl.Observed) > 1e-9*math.Max(1, *r.Observed) {
				t.Errorf("observed: raw %v, sloth %v", deref(r.Observed), deref(sl.Observed))
			}
			// The period's error ratio is Sloth's average of the recorded
			// 5m ratios: equal for steady traffic; with a burst at the
			// end of the data it weighs the burst a little less (3% here).
			budget := 1 - 0.99
			a, b := (1-r.Details["budget_remaining"])*budget, (1-sl.Details["budget_remaining"])*budget
			if math.Abs(a-b) > 0.05*math.Max(a, 1e-9) {
				t.Errorf("period error ratio: raw %v, sloth %v", a, b)
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func burnPolicy(t *testing.T, services []string, deployed bool) *config.Config {
	t.Helper()
	var b strings.Builder
	for _, s := range services {
		fmt.Fprintf(&b, slothService, s, deployed)
	}
	cfg, err := config.Parse("policy.yaml", fmt.Appendf(nil, slothPolicy, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// writeScenario writes a service's request counters every 15 seconds.
func writeScenario(t *testing.T, src *metricsource.Embedded, s burnScenario, start, end time.Time) {
	t.Helper()
	if s.quiet {
		return
	}
	var ok, bad float64
	var samples []metricsource.Sample
	for ts := start; !ts.After(end); ts = ts.Add(15 * time.Second) {
		p := s.p
		if s.last > 0 && ts.After(end.Add(-s.last)) {
			p = s.p2
		}
		ok += s.rps * 15 * (1 - p)
		bad += s.rps * 15 * p
		codes := map[string]float64{"200": ok, "500": bad}
		if s.noErrors {
			delete(codes, "500")
		}
		for code, v := range codes {
			samples = append(samples, metricsource.Sample{
				Labels: map[string]string{"__name__": "http_requests_total", "service": s.service, "code": code},
				T:      ts, V: v,
			})
		}
	}
	if err := src.Append(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
}

// recordSlothRules evaluates the SLI recording rules Sloth generates for
// every service of cfg once a minute from start to end, in rule order, and
// appends their results as recorded series, as Prometheus' rule manager
// would.
func recordSlothRules(t *testing.T, src *metricsource.Embedded, cfg *config.Config, start, end time.Time) {
	t.Helper()
	ctx := context.Background()
	gen := slo.NewGenerator(slo.GeneratorConfig{})
	var rules []rulefmt.Rule
	err := gen.Files(ctx, cfg, slo.FilesConfig{}, func(f slo.File) error {
		if f.Service == "" {
			return nil // the lifecycle rules
		}
		groups, errs := rulefmt.Parse(f.Data, false, model.UTF8Validation)
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		for _, g := range groups.Groups {
			for _, r := range g.Rules {
				if strings.HasPrefix(r.Record, "slo:sli_error:ratio_rate") {
					rules = append(rules, rulefmt.Rule{Record: r.Record, Expr: r.Expr, Labels: r.Labels})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A range query evaluates a rule at every step, as the rule manager
	// does once a minute; a rule reading an earlier rule's series (the
	// period's) runs after that rule's results are appended.
	for _, rule := range rules {
		m, err := src.QueryRange(ctx, rule.Expr, start.Add(time.Minute), end, time.Minute)
		if err != nil {
			t.Fatalf("rule %s: %v", rule.Record, err)
		}
		var samples []metricsource.Sample
		for _, series := range m {
			ls := map[string]string{}
			for k, v := range series.Metric {
				ls[string(k)] = string(v)
			}
			for k, v := range rule.Labels {
				ls[k] = v
			}
			ls["__name__"] = rule.Record
			for _, p := range series.Values {
				samples = append(samples, metricsource.Sample{Labels: ls, T: p.Timestamp.Time(), V: float64(p.Value)})
			}
		}
		if err := src.Append(ctx, samples); err != nil {
			t.Fatal(err)
		}
	}
}
