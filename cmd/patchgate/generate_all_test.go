package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/dashboards"
	"github.com/patchgate/patchgate/internal/testenv"
)

// exampleConfigs are the configurations a user finds in the repository:
// the commented example, the configurations the generators are tested
// with and the good files of the config tests. examples/ holds a GitHub
// Actions workflow (no patchgate configuration); a patchgate*.yaml put
// there is picked up.
func exampleConfigs(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, glob := range []string{"../../testdata/*.yaml", "../../testdata/*/patchgate.yaml", "../../testdata/config/*.good.yml", "../../examples/patchgate*.y*ml"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	// A moved folder must not pass by testing nothing.
	for _, want := range []string{"../../testdata/patchgate.yaml", "../../testdata/alerts/patchgate.yaml", "../../testdata/config/minimal.good.yml"} {
		if !slices.Contains(out, want) {
			t.Fatalf("configs %v lack %s", out, want)
		}
	}
	if len(out) < 9 {
		t.Fatalf("found %d example configs, want at least 9: %v", len(out), out)
	}
	return out
}

// TestGenerateEveryExample runs every generate command on every example
// configuration and checks what it writes with the strictest tool at
// hand: promtool check rules with every linter fatal for rules and
// alerts, amtool check-config for the Alertmanager configuration (alone
// and merged into testdata/alerts/alertmanager.yml), strict decoding into
// the rollout tools' shapes for integrations, and PromQL that parses in
// every dashboard query.
func TestGenerateEveryExample(t *testing.T) {
	promtool := testenv.Binary(t, "promtool", "prometheus")
	amtool := testenv.Binary(t, "amtool", "prometheus-alertmanager")
	for _, cfg := range exampleConfigs(t) {
		name := strings.TrimPrefix(filepath.ToSlash(cfg), "../../")
		t.Run(name, func(t *testing.T) {
			generate := func(t *testing.T, cmd string, extra ...string) string {
				t.Helper()
				dir := t.TempDir()
				code, out := runCmd(t, append([]string{"generate", cmd, "--config", cfg, "--out", dir}, extra...)...)
				if code != 0 {
					t.Fatalf("generate %s: exit %d:\n%s", cmd, code, out)
				}
				return dir
			}
			for _, cmd := range []string{"rules", "alerts"} {
				t.Run(cmd, func(t *testing.T) {
					files := written(t, generate(t, cmd), ".yml")
					testenv.PromtoolCheckRules(t, promtool, files...)
				})
			}
			t.Run("alertmanager", func(t *testing.T) {
				for _, extra := range [][]string{nil, {"--merge", "../../testdata/alerts/alertmanager.yml"}} {
					path := filepath.Join(generate(t, "alertmanager", extra...), "alertmanager.yml")
					out, err := exec.Command(amtool, "check-config", path).CombinedOutput()
					if err != nil || !strings.Contains(string(out), "SUCCESS") {
						data, _ := os.ReadFile(path)
						t.Errorf("amtool check-config %v: %v\n%s\n%s", extra, err, out, data)
					}
				}
			})
			t.Run("integrations", func(t *testing.T) {
				dir := generate(t, "integrations")
				files := written(t, dir, "")
				for _, f := range files {
					switch {
					case strings.HasPrefix(f, filepath.Join(dir, "argo")+"/"):
						var d argoTemplateDoc
						readStrict(t, f, &d)
					case strings.HasPrefix(f, filepath.Join(dir, "flagger")+"/"):
						var d flaggerCanaryDoc
						readStrict(t, f, &d)
					case f == filepath.Join(dir, "spinnaker", "orca-local.yml"):
						var d orcaLocal
						readStrict(t, f, &d)
					case strings.HasPrefix(f, filepath.Join(dir, "spinnaker")+"/"):
						data, err := os.ReadFile(f)
						if err != nil {
							t.Fatal(err)
						}
						dec := json.NewDecoder(bytes.NewReader(data))
						dec.DisallowUnknownFields()
						var d spinnakerStageDoc
						if err := dec.Decode(&d); err != nil {
							t.Errorf("%s: %v", f, err)
						}
					default:
						t.Errorf("%s: a file of no known tool", f)
					}
				}
			})
			t.Run("dashboards", func(t *testing.T) {
				files := written(t, generate(t, "dashboards"), ".json")
				for _, f := range files {
					for _, q := range dashboardQueries(t, f) {
						if _, err := parser.ParseExpr(dashboards.Sample(q)); err != nil {
							t.Errorf("%s: %s: %v", filepath.Base(f), q, err)
						}
					}
				}
			})
		})
	}
}

// written lists the files under dir ending in ext, and fails on none.
func written(t *testing.T, dir, ext string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) == 0 {
		t.Fatalf("%s: %d files (%v)", dir, len(out), err)
	}
	return out
}

// dashboardQueries reads the PromQL of a dashboard file: its panels'
// targets and its query variables.
func dashboardQueries(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Type       string `json:"type"`
				Definition string `json:"definition"`
				Query      any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, tg.Expr)
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		q, _ := v.Query.(string)
		if v.Type != "query" {
			continue
		}
		if m, ok := strings.CutPrefix(q, "label_values("); ok {
			if i := strings.LastIndex(m, ","); i > 0 {
				out = append(out, m[:i])
			}
		}
	}
	if len(out) == 0 {
		t.Errorf("%s: no queries", path)
	}
	return out
}
