package slo

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/sim"
)

func knownMetrics(t *testing.T) Catalog {
	t.Helper()
	c, err := testGenerator().KnownMetrics(context.Background(), loadConfig(t, rulesConfig))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRulesReadKnownMetrics: every series a generated rule reads is
// exported by patchgate, recorded by a generated rule, part of the fleet
// input contract, or read by a service's own SLI.
func TestRulesReadKnownMetrics(t *testing.T) {
	c := knownMetrics(t)
	read := 0
	for _, f := range generate(t, rulesConfig, FilesConfig{}) {
		for _, g := range ruleGroups(t, f) {
			for _, r := range g.Rules {
				unknown, err := unknownMetrics(c, r.Expr)
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
				if len(unknown) > 0 {
					t.Errorf("%s, group %s, rule %s%s reads %v, which nothing produces", f.Name, g.Name, r.Record, r.Alert, unknown)
				}
				read++
			}
		}
	}
	if read < 100 {
		t.Fatalf("only %d rules checked", read)
	}
}

func TestCatalogOrigins(t *testing.T) {
	c := knownMetrics(t)
	for name, want := range map[string]Origin{
		"patchgate_fleet_assets":                          OriginInput,
		"patchgate_vulnerability_exposure_window_seconds": OriginExported,
		"patchgate_patch_time_to_deploy_seconds_bucket":   OriginExported,
		"patchgate_decisions_total":                       OriginExported,
		"patchgate:patch_coverage:ratio":                  OriginRecorded,
		"slo:sli_error:ratio_rate1w":                      OriginRecorded, // payments, 7d
		"slo:sli_error:ratio_rate90d":                     OriginRecorded, // ledger
		"slo:period_error_budget_remaining:ratio":         OriginRecorded,
		"http_requests_total":                             OriginSLI,
		"search_queries_total":                            OriginSLI, // from the OpenSLO spec
		"http_request_duration_seconds_bucket":            OriginSLI, // from the Sloth spec
		"ALERTS":                                          OriginPrometheus,
	} {
		if got := c[name]; got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	unknown, err := unknownMetrics(c, `patchgate:patch_coverage:ratio < on() group_left patchgate:target_patch_coverage:ratio or patchgate_fleet_asset{status="patched"}`)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(unknown, []string{"patchgate_fleet_asset"}) {
		t.Errorf("unknown: %v, want the misspelt patchgate_fleet_asset", unknown)
	}
}

// TestSimulatorWritesInputContract: the simulated fleet writes the fleet
// input series with exactly the contract's labels and values.
func TestSimulatorWritesInputContract(t *testing.T) {
	f, err := sim.New(sim.Config{Clusters: []string{"eu", "us"}, Services: []sim.ServiceSpec{
		{Name: "checkout", HostsPerCluster: 30, RequestsPerSecond: 100, ErrorRate: 0.01},
	}, Seed: 7}, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	f.SetSeverity("openssl", "critical")
	if err := f.SetRollout("checkout", "openssl", 0.5, 0.01); err != nil {
		t.Fatal(err)
	}
	var got sink
	if err := f.Step(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	contract := map[string][]string{}
	for _, m := range InputContract() {
		contract[m.Name] = m.Labels
	}
	values := map[string][]string{"status": FleetAssetStatuses(), "result": ComplianceResults(), "severity": {"critical", "high", "medium", "low", "unknown"}}
	seen := map[string]bool{}
	for _, s := range got {
		name := s.Labels["__name__"]
		want, ok := contract[name]
		if !ok {
			continue
		}
		seen[name] = true
		var labels []string
		for k, v := range s.Labels {
			if k == "__name__" {
				continue
			}
			labels = append(labels, k)
			if vs, ok := values[k]; ok && !slices.Contains(vs, v) {
				t.Errorf("%s: %s=%q is not in the contract (%v)", name, k, v, vs)
			}
		}
		if !sameSet(labels, want) {
			t.Errorf("%s has labels %v, the contract says %v", name, labels, want)
		}
	}
	if len(seen) != len(contract) {
		t.Errorf("the simulator wrote %v of %v", seen, contract)
	}
}

type sink []metricsource.Sample

func (s *sink) Append(_ context.Context, samples []metricsource.Sample) error {
	*s = append(*s, samples...)
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestDocsListEveryMetric: docs/metrics.md names every series patchgate
// exports, records beside the SLO rules, or reads from the fleet.
func TestDocsListEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range append(lifecycle.Metrics(), InputContract()...) {
		names = append(names, m.Name)
	}
	for _, g := range LifecycleRules(loadConfig(t, rulesConfig).Targets) {
		for _, r := range g.Rules {
			names = append(names, r.Record)
		}
	}
	names = append(names, "slo:sli_error:ratio_rate", "slo:objective:ratio", "slo:error_budget:ratio", "slo:time_period:days",
		"slo:current_burn_rate:ratio", "slo:period_burn_rate:ratio", "slo:period_error_budget_remaining:ratio", "sloth_slo_info")
	for _, n := range names {
		if !strings.Contains(string(doc), "`"+n) {
			t.Errorf("docs/metrics.md does not name %s", n)
		}
	}
}

// unknownMetrics returns the metric names expr reads that c lacks.
func unknownMetrics(c Catalog, expr string) ([]string, error) {
	names, err := Metrics(expr)
	return slices.DeleteFunc(names, func(n string) bool { _, ok := c[n]; return ok }), err
}
