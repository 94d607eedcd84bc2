package slo

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/rules/golden")

const (
	rulesConfig = "../testdata/rules/patchgate.yaml"
	goldenDir   = "../testdata/rules/golden"
)

func loadConfig(t testing.TB, path string) *config.Config {
	t.Helper()
	cfg, err := config.LoadWithoutSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// testGenerator is shared by the tests: making Sloth's generators (one
// per period, each loading Sloth's plugins) takes about half a second each.
var testGenerator = sync.OnceValue(func() *Generator { return NewGenerator(GeneratorConfig{}) })

// generate returns the files Files writes for the config at path.
func generate(t testing.TB, path string, fc FilesConfig) []File {
	t.Helper()
	var files []File
	err := testGenerator().Files(context.Background(), loadConfig(t, path), fc, func(f File) error {
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGolden compares the generated files with testdata/rules/golden; run
// `go test ./slo -run TestGolden -update` after a deliberate change.
func TestGolden(t *testing.T) {
	for _, format := range Formats() {
		t.Run(string(format), func(t *testing.T) {
			dir := filepath.Join(goldenDir, string(format))
			files := generate(t, rulesConfig, FilesConfig{Format: format, Namespace: "monitoring", Labels: map[string]string{"role": "slo-rules"}})
			var names []string
			for _, f := range files {
				names = append(names, f.Name)
				path := filepath.Join(dir, f.Name)
				if *update {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to write it)", err)
				}
				if !bytes.Equal(f.Data, want) {
					t.Errorf("%s differs from the golden file; diff it with `go test ./slo -run TestGolden -update && git diff`.\ngot:\n%s", f.Name, f.Data)
				}
			}
			golden, _ := filepath.Glob(filepath.Join(dir, "*.yml"))
			for _, g := range golden {
				if !slices.Contains(names, filepath.Base(g)) {
					if *update {
						_ = os.Remove(g)
						continue
					}
					t.Errorf("golden file %s is no longer generated", g)
				}
			}
		})
	}
}

// TestFilesDescribe checks what a user reads after generating.
func TestFilesDescribe(t *testing.T) {
	files := generate(t, rulesConfig, FilesConfig{})
	var got []string
	for _, f := range files {
		got = append(got, f.Name+": "+f.Describe())
	}
	want := []string{
		"slo-checkout.rules.yml: 1 SLO(s) of checkout (checkout/requests 99.9% over 30d): 15 recording rule(s), 2 alert(s)",
		"slo-payments.rules.yml: 2 SLO(s) of payments (payments/requests 99.95% over 7d, payments/latency 99% over 7d): 30 recording rule(s), 4 alert(s)",
		"slo-search.rules.yml: 2 SLO(s) of search (search/queries 99.5% over 28d, search/search-availability-0 99.5% over 28d): 30 recording rule(s), 2 alert(s)",
		"slo-ledger.rules.yml: 1 SLO(s) of ledger (ledger/requests 99.99% over 90d): 15 recording rule(s), 2 alert(s)",
		"patchgate-lifecycle.rules.yml: patch lifecycle rules: 12 recording rule(s), 0 alert(s) (fleet coverage and compliance, exposure window, canary error delta, targets)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// ruleGroups returns the rule groups of a generated file in either format.
func ruleGroups(t testing.TB, f File) []rulefmt.RuleGroup {
	t.Helper()
	data := f.Data
	if strings.HasSuffix(f.Name, ".prometheusrule.yml") {
		var obj struct {
			APIVersion string         `yaml:"apiVersion"`
			Kind       string         `yaml:"kind"`
			Spec       map[string]any `yaml:"spec"`
		}
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if obj.APIVersion != "monitoring.coreos.com/v1" || obj.Kind != "PrometheusRule" {
			t.Fatalf("%s: got %s %s, want monitoring.coreos.com/v1 PrometheusRule", f.Name, obj.APIVersion, obj.Kind)
		}
		var err error
		if data, err = yaml.Marshal(obj.Spec); err != nil {
			t.Fatal(err)
		}
	}
	rgs, errs := rulefmt.Parse(data, false, model.UTF8Validation)
	if len(errs) > 0 {
		t.Fatalf("%s does not parse as Prometheus rules: %v", f.Name, errs)
	}
	return rgs.Groups
}

// TestPeriods checks that every SLO period records its own window, and
// that 7d and 90d alert at the SRE workbook's burn rates.
func TestPeriods(t *testing.T) {
	files := generate(t, rulesConfig, FilesConfig{})
	want := map[string]struct {
		period string
		page   []string
	}{
		"checkout": {"30d", []string{"14.4 *", "6 *"}},
		"payments": {"1w", []string{"14.4 *", "5.999999999999999 *"}},
		"search":   {"4w", []string{"13.44 *", "5.6000000000000005 *"}},
		"ledger":   {"90d", []string{"14.4 *", "6 *"}},
	}
	for _, f := range files {
		if f.Service == "" {
			continue
		}
		w := want[f.Service]
		var recorded []string
		var pageExpr string
		for _, g := range ruleGroups(t, f) {
			for _, r := range g.Rules {
				if r.Record != "" {
					recorded = append(recorded, r.Record)
				}
				if r.Alert != "" && r.Labels["severity"] == "page" && pageExpr == "" {
					pageExpr = r.Expr
				}
			}
		}
		if !slices.Contains(recorded, "slo:sli_error:ratio_rate"+w.period) {
			t.Errorf("%s: no slo:sli_error:ratio_rate%s recorded: %v", f.Service, w.period, recorded)
		}
		for _, win := range config.SlothWindows() {
			if name := SLIErrorRecord(time.Duration(win)); !slices.Contains(recorded, name) {
				t.Errorf("%s: %s not recorded, yet config.SlothWindows lists it", f.Service, name)
			}
		}
		for _, factor := range w.page {
			if !strings.Contains(pageExpr, "("+factor) {
				t.Errorf("%s: page alert has no burn factor %q:\n%s", f.Service, factor, pageExpr)
			}
		}
	}
}

// TestPromtoolCheckRules runs the real promtool over every generated file,
// in both formats (the PrometheusRule's groups written out as a rules file).
func TestPromtoolCheckRules(t *testing.T) {
	promtool := testenv.Binary(t, "promtool", "prometheus")
	dir := t.TempDir()
	var paths []string
	for _, format := range Formats() {
		for _, f := range generate(t, rulesConfig, FilesConfig{Format: format}) {
			data := f.Data
			if format == FormatPrometheusOperator {
				var err error
				data, err = yaml.Marshal(map[string]any{"groups": ruleGroups(t, f)})
				if err != nil {
					t.Fatal(err)
				}
			}
			p := filepath.Join(dir, string(format)+"-"+f.Name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
	}
	testenv.PromtoolCheckRules(t, promtool, paths...)
}

// TestOperatorNamesCollide: two services whose names make the same
// Kubernetes object name are refused rather than overwritten.
func TestOperatorNamesCollide(t *testing.T) {
	cfg, err := config.Parse("p.yaml", []byte(`
source: {type: embedded}
services:
  - name: Checkout_EU
    sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}
    slo: {objective: 99}
    stages: [{name: all}]
  - name: checkout-eu
    sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}
    slo: {objective: 99}
    stages: [{name: all}]
`))
	if err != nil {
		t.Fatal(err)
	}
	err = testGenerator().Files(context.Background(), cfg, FilesConfig{Format: FormatPrometheusOperator}, func(File) error { return nil })
	want := `services "Checkout_EU" and "checkout-eu" both make the PrometheusRule name "slo-checkout-eu"`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

// TestUnsupportedPeriod names the field.
func TestUnsupportedPeriod(t *testing.T) {
	cfg, err := config.Parse("p.yaml", []byte(`
source: {type: embedded}
services:
  - name: checkout
    sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}
    slo: {objective: 99, period: 14d}
    stages: [{name: all}]
`))
	if err != nil {
		t.Fatal(err)
	}
	err = testGenerator().Files(context.Background(), cfg, FilesConfig{}, func(File) error { return nil })
	want := "services[0].slo.period: no alert windows for an SLO period of 14d: Sloth's rules can be generated for 7d, 28d, 30d or 90d"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

// TestSpecOfAnotherService: a service's spec files must be its own.
func TestSpecOfAnotherService(t *testing.T) {
	spec, err := filepath.Abs("../testdata/slo/payments-latency.sloth.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("p.yaml", fmt.Appendf(nil, `
source: {type: embedded}
services:
  - name: checkout
    sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}
    slo: {objective: 99, specs: [%q]}
    stages: [{name: all}]
`, spec))
	if err != nil {
		t.Fatal(err)
	}
	_, err = testGenerator().service(context.Background(), cfg, &cfg.Services[0], "services[0]")
	want := fmt.Sprintf(`services[0].slo.specs[0] (%s): the spec is for service "payments"; a service's specs must be its own ("checkout")`, spec)
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}
