package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/dashboards")

const goldenDir = "../testdata/dashboards"

func testConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.LoadWithoutSecrets(filepath.Join(goldenDir, "patchgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func build(t testing.TB) []Dashboard {
	t.Helper()
	ds, err := BuildFor(testConfig(t), Latest)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestGolden compares each generated dashboard with its golden file
// (go test ./dashboards -update rewrites them).
func TestGolden(t *testing.T) {
	ds := build(t)
	want := []string{"pg-executive", "pg-oncall", "pg-debug", "pg-slo-checkout", UID("pg", SLO, "search.v2")}
	var got []string
	for _, d := range ds {
		got = append(got, d.UID)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("dashboards %v, want %v", got, want)
	}
	for _, d := range ds {
		b, err := d.JSON()
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(goldenDir, d.UID+".json")
		if *update {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		golden, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./dashboards -update)", err)
		}
		if !bytes.Equal(b, golden) {
			t.Errorf("%s differs from %s (run go test ./dashboards -update and review the diff)", d.UID, path)
		}
	}
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	for _, f := range files {
		if !slices.Contains(want, strings.TrimSuffix(filepath.Base(f), ".json")) {
			t.Errorf("%s is no longer generated: remove it", f)
		}
	}
}

// TestDashboardKinds checks what each dashboard must show, by its panels'
// titles and queries.
func TestDashboardKinds(t *testing.T) {
	ds := build(t)
	byUID := map[string]Dashboard{}
	for _, d := range ds {
		byUID[d.UID] = d
	}
	cases := []struct {
		uid     string
		queries []string // each must appear in some query
	}{
		{"pg-executive", []string{
			`sum (patchgate_fleet_assets{cluster=~"$cluster",service=~"$service",status="patched"}) / sum (patchgate_fleet_assets{cluster=~"$cluster",service=~"$service",status!="offline"})`,
			"patchgate:vulnerability_exposure_window:seconds",
			`patchgate_fleet_compliance_checks{cluster=~"$cluster",service=~"$service",result="pass"}`,
			"histogram_quantile(0.5, sum by (severity, le) (max without (instance, pod) (increase(patchgate_patch_time_to_deploy_seconds_bucket",
			"1 - slo:period_error_budget_remaining:ratio",
		}},
		{"pg-oncall", []string{
			"patchgate:canary_error_delta:ratio",
			// The canary stage of checkout has a 0.25pp margin, its other
			// stages 0.5pp, 100pct none (error_delta disabled).
			`patchgate:canary_error_delta:ratio{service=~"$service",service="checkout",stage=~"canary"}) + 0.0025)`,
			`patchgate:canary_error_delta:ratio{service=~"$service",service="checkout",stage=~"50pct"}) + 0.005)`,
			`service="search.v2",stage=~"canary|100pct"}) + 0.005)`,
			`decision="no_go"`,
			// Canary against baseline latency: both arms' p99 and the slow
			// share delta with latency_delta's 2pp margin (not at 100pct,
			// where it is disabled).
			"max by (service, patch_id, stage, track) (patchgate_canary_latency_p99{service=~\"$service\"})",
			"max by (service, patch_id, stage) (patchgate_canary_latency_delta_ratio{service=~\"$service\"})",
			`patchgate_canary_latency_delta_ratio{service=~"$service",service="checkout",stage=~"canary|50pct"}) + 0.02)`,
			// Lifecycle series: one copy across gate replicas.
			"sum by (service, cluster) (max without (instance, pod) (increase(patchgate_patch_rollbacks_total",
			"sum by (severity) (max without (instance, pod) (increase(patchgate_patch_incidents_total",
		}},
		{"pg-debug", []string{
			"kube_pod_container_status_restarts_total", "node_boot_time_seconds",
			"patchgate_image_pull_duration_seconds_bucket", "patchgate_agent_heartbeat_timestamp_seconds",
			"patchgate_decision_duration_seconds_bucket", "patchgate_prometheus_query_errors_total",
		}},
		{"pg-slo-checkout", []string{
			`slo:sli_error:ratio_rate5m{sloth_service="$service",sloth_slo=~"$slo",cluster=~"$cluster|"} / on (sloth_id) group_left () slo:error_budget:ratio`,
			"slo:sli_error:ratio_rate3d", "slo:period_error_budget_remaining:ratio", "slo:objective:ratio",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.uid, func(t *testing.T) {
			qs, err := byUID[tc.uid].Queries()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.queries {
				if !slices.ContainsFunc(qs, func(q Query) bool { return strings.Contains(q.Expr, want) }) {
					t.Errorf("no query reads %s", want)
				}
			}
		})
	}
	// The 100pct stage of checkout has error_delta disabled: no margin.
	qs, _ := byUID["pg-oncall"].Queries()
	for _, q := range qs {
		if strings.Contains(q.Expr, `service="checkout",stage=~"50pct|100pct"`) || strings.Contains(q.Expr, `stage=~"100pct"`) {
			t.Errorf("%s: a margin for checkout's 100pct stage, where error_delta is disabled: %s", q.Where, q.Expr)
		}
	}
}

// gridPanel is a panel as Grafana gets it, for the layout checks.
type gridPanel struct {
	ID      *int   `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos *struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr       string `json:"expr"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []gridPanel `json:"panels"`
}

// TestEveryPanel walks every panel of every dashboard: a stable id, an
// explicit position inside the 24-column grid not overlapping another
// panel, the datasource variable, and queries that parse.
func TestEveryPanel(t *testing.T) {
	for _, d := range build(t) {
		t.Run(d.UID, func(t *testing.T) {
			b, err := d.JSON()
			if err != nil {
				t.Fatal(err)
			}
			var m struct {
				Panels     []gridPanel `json:"panels"`
				Templating struct {
					List []struct {
						Name string `json:"name"`
						Type string `json:"type"`
					} `json:"list"`
				} `json:"templating"`
			}
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{}
			for _, v := range m.Templating.List {
				vars[v.Name] = v.Type
			}
			if vars["datasource"] != "datasource" || vars["cluster"] != "query" || vars["service"] == "" {
				t.Errorf("variables %v, want datasource, service and cluster", vars)
			}
			ids := map[int]string{}
			var placed []gridPanel
			var walk func(ps []gridPanel)
			walk = func(ps []gridPanel) {
				for _, p := range ps {
					switch {
					case p.ID == nil:
						t.Errorf("panel %q has no id", p.Title)
					case ids[*p.ID] != "":
						t.Errorf("panels %q and %q share id %d", ids[*p.ID], p.Title, *p.ID)
					default:
						ids[*p.ID] = p.Title
					}
					g := p.GridPos
					switch {
					case g == nil:
						t.Errorf("panel %q has no grid position", p.Title)
					case g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24:
						t.Errorf("panel %q is placed at %+v, outside the 24-column grid", p.Title, *g)
					default:
						for _, o := range placed {
							og := o.GridPos
							if g.X < og.X+og.W && og.X < g.X+g.W && g.Y < og.Y+og.H && og.Y < g.Y+g.H {
								t.Errorf("panels %q %+v and %q %+v overlap", o.Title, *og, p.Title, *g)
							}
						}
						placed = append(placed, p)
					}
					if len(p.Targets) > 0 && (p.Datasource == nil || p.Datasource.UID != "${datasource}") {
						t.Errorf("panel %q does not use the datasource variable", p.Title)
					}
					for _, tg := range p.Targets {
						if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
							t.Errorf("panel %q: a target does not use the datasource variable", p.Title)
						}
					}
					if p.Type != "row" && p.Type != "annolist" && len(p.Targets) == 0 {
						t.Errorf("panel %q (%s) has no query", p.Title, p.Type)
					}
					walk(p.Panels)
				}
			}
			walk(m.Panels)
			if len(ids) < 8 {
				t.Errorf("%d panels, want at least 8", len(ids))
			}
		})
	}
}

func TestSample(t *testing.T) {
	cases := []struct{ in, want string }{
		{`rate(x{service=~"$service"}[$__rate_interval])`, `rate(x{service=~"sample"}[5m])`},
		{`x{a="${cluster}",b="${service:regex}"} > time() - $__range_s`, `x{a="sample",b="sample"} > time() - 300`},
		{`increase(x[$__range])`, `increase(x[5m])`},
	}
	for _, tc := range cases {
		if got := Sample(tc.in); got != tc.want {
			t.Errorf("Sample(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestUID(t *testing.T) {
	valid := regexp.MustCompile(`^[a-zA-Z0-9_-]{1,40}$`)
	long := strings.Repeat("a", 40)
	cases := []struct {
		prefix, service, want string
	}{
		{"patchgate", "checkout", "patchgate-slo-checkout"},
		{"pg", "search_v2", "pg-slo-search_v2"},
		{"pg", "search.v2", ""},
		{"pg", "search-v2", "pg-slo-search-v2"},
		{"patchgate-production-eu", long, ""},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		got := UID(tc.prefix, SLO, tc.service)
		if !valid.MatchString(got) {
			t.Errorf("UID(%q, %q) = %q: not a valid Grafana uid", tc.prefix, tc.service, got)
		}
		if tc.want != "" && got != tc.want {
			t.Errorf("UID(%q, %q) = %q, want %q", tc.prefix, tc.service, got, tc.want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("services %q and %q share uid %q", other, tc.service, got)
		}
		seen[got] = tc.service
		if again := UID(tc.prefix, SLO, tc.service); again != got {
			t.Errorf("UID is not stable: %q then %q", got, again)
		}
	}
	if got := UID(strings.Repeat("p", config.MaxGrafanaUIDPrefix), Executive, ""); len(got) > 40 {
		t.Errorf("executive uid with the longest prefix is %d characters", len(got))
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files, err := Write(dir, build(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("%d files, want 5", len(files))
	}
	b, err := os.ReadFile(filepath.Join(dir, "pg-oncall.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["uid"] != "pg-oncall" || m["title"] != "patchgate: on-call" {
		t.Errorf("pg-oncall.json has uid %v, title %v", m["uid"], m["title"])
	}
}
