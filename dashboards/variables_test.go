package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/internal/testenv"
	"github.com/patchgate/patchgate/slo"
)

// variableInputs are the input series a fleet has in two clusters: the
// SLIs of the test configuration's services, the fleet contract and the
// node exporter. Sloth's SLIs sum the cluster away, as most do.
const variableInputs = `
- {series: 'http_requests_total{service="checkout",code="200",cluster="eu-west-1"}', values: '0+600x40'}
- {series: 'http_requests_total{service="checkout",code="500",cluster="eu-west-1"}', values: '0+1x40'}
- {series: 'http_requests_total{service="checkout",code="200",cluster="us-east-1"}', values: '0+600x40'}
- {series: 'http_requests_total{service="search",code="200",cluster="eu-west-1"}', values: '0+600x40'}
- {series: 'http_requests_total{service="search",code="503",cluster="eu-west-1"}', values: '0+2x40'}
- {series: 'patchgate_fleet_assets{service="checkout",cluster="eu-west-1",patch_id="openssl-3.0.15",severity="critical",status="patched"}', values: '5x40'}
- {series: 'patchgate_fleet_assets{service="checkout",cluster="us-east-1",patch_id="openssl-3.0.15",severity="critical",status="pending"}', values: '3x40'}
- {series: 'patchgate_fleet_assets{service="search.v2",cluster="eu-west-1",patch_id="openssl-3.0.15",severity="critical",status="patched"}', values: '4x40'}
- {series: 'patchgate_fleet_assets{service="search.v2",cluster="us-east-1",patch_id="openssl-3.0.15",severity="critical",status="pending"}', values: '4x40'}
- {series: 'node_boot_time_seconds{cluster="eu-west-1",instance="h1"}', values: '1000x40'}
- {series: 'node_boot_time_seconds{cluster="us-east-1",instance="h2"}', values: '1000x40'}
`

// TestVariablesListValues: every label_values(selector, label) variable of
// every dashboard reads a series that carries the label, with the rules
// `patchgate generate rules` writes evaluated by promtool over a fleet in
// two clusters: no dropdown stays empty.
func TestVariablesListValues(t *testing.T) {
	promtool := testenv.Binary(t, "promtool", "prometheus")
	cfg := testConfig(t)
	dir := t.TempDir()
	var ruleFiles []string
	err := slo.NewGenerator(slo.GeneratorConfig{}).Files(context.Background(), cfg, slo.FilesConfig{}, func(f slo.File) error {
		ruleFiles = append(ruleFiles, f.Name)
		return os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	var tests strings.Builder
	n := 0
	for _, d := range build(t) {
		b, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Templating struct {
				List []struct {
					Type  string `json:"type"`
					Name  string `json:"name"`
					Query any    `json:"query"`
				} `json:"list"`
			} `json:"templating"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		// Constant variables (an SLO dashboard's service) take their value.
		constants := map[string]string{}
		for _, v := range m.Templating.List {
			if s, ok := v.Query.(string); ok && v.Type == "constant" {
				constants[v.Name] = s
			}
		}
		for _, v := range m.Templating.List {
			s, _ := v.Query.(string)
			sm := labelValuesRE.FindStringSubmatch(s)
			if v.Type != "query" || sm == nil {
				continue
			}
			label := strings.TrimSpace(s[strings.LastIndex(s, ",")+1 : len(s)-1])
			expr := sm[1]
			for name, value := range constants {
				expr = strings.ReplaceAll(expr, "$"+name, value)
			}
			vs, err := parser.ParseExpr(Sample(expr))
			if err != nil {
				t.Fatalf("%s variable %s: %v", d.UID, v.Name, err)
			}
			sel, ok := vs.(*parser.VectorSelector)
			if !ok {
				t.Fatalf("%s variable %s: %s is not a series selector", d.UID, v.Name, expr)
			}
			sel.LabelMatchers = append(sel.LabelMatchers, labels.MustNewMatcher(labels.MatchNotEqual, label, ""))
			n++
			fmt.Fprintf(&tests, `
  - expr: count(count by (%s) (%s)) > 0  # %s variable %s
    eval_time: 40m
    exp_samples: [{labels: '{}', value: %d}]`, label, sel, d.UID, v.Name, distinct(label))
		}
	}
	if n < 6 {
		t.Fatalf("%d label_values variables, want at least 6", n)
	}
	rf, _ := yaml.Marshal(ruleFiles)
	suite := fmt.Sprintf("rule_files:\n%sevaluation_interval: 1m\ntests:\n- interval: 1m\n  input_series:%s\n  promql_expr_test:%s\n",
		string(rf), indent(variableInputs), tests.String())
	path := filepath.Join(dir, "variables.test.yml")
	if err := os.WriteFile(path, []byte(suite), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s\n%s", err, out, suite)
	}
}

// distinct is the number of values each label has in variableInputs and
// the rules recorded from them: two clusters, one SLO per service.
func distinct(label string) int {
	if label == "cluster" {
		return 2
	}
	return 1
}

func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
