package alerts

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/testenv"
	"github.com/patchgate/patchgate/slo"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/alerts/golden")

const (
	testConfig = "../testdata/alerts/patchgate.yaml"
	goldenDir  = "../testdata/alerts/golden"
)

func loadConfig(t testing.TB, path string) *config.Config {
	t.Helper()
	cfg, err := config.LoadWithoutSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func testRules(t testing.TB) Result {
	t.Helper()
	res, err := Rules(loadConfig(t, testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// golden compares data with the golden file at path (relative to
// goldenDir), or rewrites it with -update.
func golden(t *testing.T, path string, data []byte) {
	t.Helper()
	path = filepath.Join(goldenDir, path)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./alerts -update` to write it)", err)
	}
	if !bytes.Equal(data, want) {
		t.Errorf("%s differs from the golden file; diff it with `go test ./alerts -run %s -update && git diff`.\ngot:\n%s", path, t.Name(), data)
	}
}

// TestGoldenRules compares the generated rules with testdata/alerts/golden;
// run `go test ./alerts -run TestGolden -update` after a deliberate change.
func TestGoldenRules(t *testing.T) {
	res := testRules(t)
	for _, format := range slo.Formats() {
		t.Run(string(format), func(t *testing.T) {
			name, data, err := File(res, FileConfig{Format: format, Namespace: "monitoring", Labels: map[string]string{"role": "alert-rules"}})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(string(format), name), data)
		})
	}
}

// ruleGroups parses a generated file in either format as Prometheus does.
func ruleGroups(t testing.TB, data []byte) []rulefmt.RuleGroup {
	t.Helper()
	var obj struct {
		Kind string         `yaml:"kind"`
		Spec map[string]any `yaml:"spec"`
	}
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Kind == "PrometheusRule" {
		var err error
		if data, err = yaml.Marshal(obj.Spec); err != nil {
			t.Fatal(err)
		}
	}
	rgs, errs := rulefmt.Parse(data, false, model.UTF8Validation)
	if len(errs) > 0 {
		t.Fatalf("the generated rules do not parse: %v", errs)
	}
	return rgs.Groups
}

// TestPromtoolCheckRules runs the real promtool, with every linter fatal,
// over the rules in both formats, for the alerts' test configuration and
// the commented example (two services of one team with the same margin:
// rules promtool must not find duplicate).
func TestPromtoolCheckRules(t *testing.T) {
	promtool := testenv.Binary(t, "promtool", "prometheus")
	for _, cfgPath := range []string{testConfig, "../testdata/patchgate.yaml"} {
		t.Run(filepath.Base(filepath.Dir(cfgPath)), func(t *testing.T) {
			res, err := Rules(loadConfig(t, cfgPath))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var paths []string
			for _, format := range slo.Formats() {
				_, data, err := File(res, FileConfig{Format: format})
				if err != nil {
					t.Fatal(err)
				}
				if format == slo.FormatPrometheusOperator {
					if data, err = yaml.Marshal(map[string]any{"groups": ruleGroups(t, data)}); err != nil {
						t.Fatal(err)
					}
				}
				p := filepath.Join(dir, string(format)+".rules.yml")
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			testenv.PromtoolCheckRules(t, promtool, paths...)
		})
	}
}

// TestRulesReadKnownMetrics: every series an alert reads is exported by
// patchgate, recorded by a generated rule (the SLO and lifecycle rules of
// `generate rules`, or the alerts' own records), part of the fleet input
// contract, or one of the alerts' documented inputs.
func TestRulesReadKnownMetrics(t *testing.T) {
	cfg := loadConfig(t, testConfig)
	c, err := slo.NewGenerator(slo.GeneratorConfig{}).KnownMetrics(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := testRules(t)
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				c[r.Record] = slo.OriginRecorded
			}
		}
	}
	for _, m := range Inputs() {
		c[m.Name] = slo.OriginInput
	}
	read := map[string]bool{}
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			unknown, err := unknownMetrics(c, r.Expr)
			if err != nil {
				t.Fatal(err)
			}
			if len(unknown) > 0 {
				t.Errorf("group %s, rule %s%s reads %v, which nothing produces", g.Name, r.Record, r.Alert, unknown)
			}
			names, _ := slo.Metrics(r.Expr)
			for _, n := range names {
				read[n] = true
			}
		}
	}
	// The catalogue is not vacuous: the alerts read every kind of series.
	for _, n := range []string{"patchgate_fleet_assets", "patchgate_rollout_rolled_back_timestamp_seconds", "patchgate:compliance_pass:ratio",
		"slo:error_budget:ratio", "node_boot_time_seconds", RecordServiceTeam} {
		if !read[n] {
			t.Errorf("no alert reads %s", n)
		}
	}
}

// TestAlertLabels checks what on-call relies on: every alert says page or
// ticket, carries source="patchgate" for the routing, links its runbook
// and explains itself; every alert of the catalogue is generated.
func TestAlertLabels(t *testing.T) {
	res := testRules(t)
	if got, want := alertNames(res), config.AlertNames(); !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
	pages, tickets, records := res.Counts()
	if pages != 7 || tickets != 6 || records != 3 {
		t.Errorf("%d pages, %d tickets, %d records; want 7 (3 canary error rules, 1 canary latency rule), 6 and 3", pages, tickets, records)
	}
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			want := SeverityTicket
			if g.Name == GroupPages {
				want = SeverityPage
			}
			if r.Labels["severity"] != want || r.Labels[SourceLabel] != Source {
				t.Errorf("%s in %s: labels %v", r.Alert, g.Name, r.Labels)
			}
			if got := r.Annotations["runbook_url"]; got != "https://wiki.example.com/runbooks/patchgate/"+strings.ToLower(r.Alert) {
				t.Errorf("%s: runbook_url %q", r.Alert, got)
			}
			if !strings.Contains(r.Annotations["description"], "$value") && r.Alert != config.AlertHostPatchFailed {
				t.Errorf("%s: the description does not name the value: %q", r.Alert, r.Annotations["description"])
			}
			if time := r.For; time != model.Duration(loadConfig(t, testConfig).Alerting.AlertFor(r.Alert)) {
				t.Errorf("%s: for %v", r.Alert, time)
			}
		}
	}
}

// TestComplianceWithoutTarget: without a compliance target there is no
// compliance alert, and the notes say why.
func TestComplianceWithoutTarget(t *testing.T) {
	cfg := loadConfig(t, testConfig)
	cfg.Targets.CompliancePass = 0
	res, err := Rules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(alertNames(res), config.AlertComplianceDrift) {
		t.Error("compliance alert generated without a target")
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "targets.compliance_pass") }) {
		t.Errorf("notes %v do not say why", res.Notes)
	}
}

// TestDocs: docs/alerts.md describes every alert under its own heading
// (the runbook links' anchors), and docs/metrics.md names the alerts'
// inputs.
func TestDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range config.AlertNames() {
		if !strings.Contains(string(doc), "\n### "+n+"\n") {
			t.Errorf("docs/alerts.md has no heading ### %s", n)
		}
	}
	metrics, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Inputs() {
		if !strings.Contains(string(metrics), "`"+m.Name+"`") {
			t.Errorf("docs/metrics.md does not name %s", m.Name)
		}
	}
}

// alertNames lists the alerts in rs, in order, once each.
func alertNames(rs Result) []string {
	var out []string
	for _, g := range rs.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !slices.Contains(out, r.Alert) {
				out = append(out, r.Alert)
			}
		}
	}
	return out
}

// unknownMetrics returns the metric names expr reads that c lacks.
func unknownMetrics(c slo.Catalog, expr string) ([]string, error) {
	names, err := slo.Metrics(expr)
	return slices.DeleteFunc(names, func(n string) bool { _, ok := c[n]; return ok }), err
}
