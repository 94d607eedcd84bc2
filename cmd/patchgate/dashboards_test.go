package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/dashboards"
	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/grafanatest"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/internal/testbed"
	"github.com/patchgate/patchgate/server"
)

const dashboardsConfig = "../../testdata/dashboards/patchgate.yaml"

func TestGenerateDashboards(t *testing.T) {
	dir := t.TempDir()
	code, out := runCmd(t, "generate", "dashboards", "--config", dashboardsConfig, "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if !strings.HasPrefix(out, "wrote 5 dashboards for Grafana latest (schemaVersion 42) to "+dir) {
		t.Errorf("output: %s", out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 5 {
		t.Fatalf("%d files written, want 5", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			UID    string `json:"uid"`
			Panels []any  `json:"panels"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if m.UID+".json" != filepath.Base(f) || len(m.Panels) == 0 {
			t.Errorf("%s holds uid %q and %d panels", f, m.UID, len(m.Panels))
		}
	}
	if code, out := runCmd(t, "generate", "dashboards", "--config", dashboardsConfig); code != exitError || !strings.Contains(out, "--out is required") {
		t.Errorf("without --out: exit %d: %s", code, out)
	}
}

func TestPublishTwice(t *testing.T) {
	g := grafanatest.New(t)
	t.Setenv("GRAFANA_TOKEN", grafanatest.Token)
	args := []string{"publish", "--config", dashboardsConfig, "--grafana-url", g.URL}

	code, out := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("first publish: exit %d: %s", code, out)
	}
	if !strings.Contains(out, `folder "Patch rollouts": 5 dashboards: folder created, 5 created`) {
		t.Errorf("first publish said:\n%s", out)
	}
	g.ResetRequests()
	code, out = runCmd(t, args...)
	if code != 0 {
		t.Fatalf("second publish: exit %d: %s", code, out)
	}
	if !strings.Contains(out, "5 dashboards unchanged") {
		t.Errorf("second publish said:\n%s", out)
	}
	for _, r := range g.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("second publish sent %s %s", r.Method, r.Path)
		}
	}
}

func TestPublishFailures(t *testing.T) {
	g := grafanatest.New(t)
	dir := t.TempDir()
	noGrafana := filepath.Join(dir, "no-grafana.yaml")
	if err := os.WriteFile(noGrafana, []byte("source: {type: embedded}\nservices:\n  - name: s\n    sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}\n    slo: {objective: 99}\n    stages: [{name: all}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		token string
		args  []string
		want  string
	}{
		{"wrong token", "nope", []string{"--config", dashboardsConfig, "--grafana-url", g.URL},
			"patchgate publish: grafana: read folder pg: 401 Unauthorized (Invalid API key): Grafana refused the token"},
		{"no url", grafanatest.Token, []string{"--config", noGrafana},
			"patchgate publish: no Grafana URL: pass --grafana-url or set grafana.url in the config"},
		{"no token", "", []string{"--config", noGrafana, "--grafana-url", g.URL},
			"patchgate publish: no Grafana token: set GRAFANA_TOKEN or grafana.token_env / grafana.token_file"},
		{"token env of the config unset", "", []string{"--config", dashboardsConfig},
			"patchgate publish: grafana.token_env: environment variable GRAFANA_TOKEN is not set or empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GRAFANA_TOKEN", tc.token)
			code, out := runCmd(t, append([]string{"publish"}, tc.args...)...)
			if code != exitError || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d: %s\nwant exit 2 and %q", code, out, tc.want)
			}
		})
	}
}

const outageConfig = `
source: {type: embedded}
store: {dsn: "DSN"}
tokens: [{name: rollout, token: "outage-test-token-0123456789", scopes: [gate]}]
grafana:
  url: URL
  token_env: PATCHGATE_TEST_GRAFANA_TOKEN
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99}
    checks:
      error_delta: {}
      min_traffic: {requests: 500}
    stages: [{name: canary, max_wait: 30m}]
`

// TestGateAnswersThroughGrafanaOutage runs the real gate over the embedded
// source with annotations on, while Grafana first hangs and then is down:
// every ask gets its decision, annotations that cannot be sent are dropped
// and counted, and annotating resumes when Grafana is back.
func TestGateAnswersThroughGrafanaOutage(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	now := t0.Add(10 * time.Minute)
	src := testbed.Source(t, testbed.Requests(
		testbed.Traffic{Service: "checkout", Track: "canary", RPS: 20, ErrorRatio: 0.05, From: t0, To: now},
		testbed.Traffic{Service: "checkout", Track: "baseline", RPS: 200, ErrorRatio: 0.005, From: t0, To: now})...)

	g := grafanatest.New(t)
	g.Hang() // Grafana takes connections and never answers
	t.Setenv("PATCHGATE_TEST_GRAFANA_TOKEN", grafanatest.Token)
	text := strings.NewReplacer("DSN", filepath.Join(t.TempDir(), "gate.db"), "URL", g.URL).Replace(outageConfig)
	cfg := loadConfigText(t, text)
	a, err := newApp(context.Background(), cfg, appOptions{
		source: src, now: func() time.Time { return now },
		grafanaRetry:    dashboards.RetryPolicy{Attempts: 2, Backoff: time.Millisecond},
		annotationQueue: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			a.Close()
		}
	}()
	ts := httptest.NewServer(a.Handler())
	defer ts.Close()
	// A gate that waited on Grafana would run into this timeout.
	client := &server.Client{URL: ts.URL, Token: "outage-test-token-0123456789", HTTP: &http.Client{Timeout: 30 * time.Second}}
	ask := func(patch string) gate.Decision {
		t.Helper()
		d, err := client.Gate(context.Background(), gate.Request{Service: "checkout", PatchID: patch, Stage: "canary",
			Params: map[string]string{gate.ParamStageStartedAt: t0.Format(time.RFC3339)}})
		if err != nil {
			t.Fatalf("ask for %s while Grafana is out: %v", patch, err)
		}
		if d.Decision != gate.NoGo {
			t.Fatalf("%s: %s (%s), want no_go", patch, d.Decision, d.Reason)
		}
		return d
	}

	// The worker takes the first annotation and hangs on Grafana.
	ask("p-1")
	waitFor(t, func() bool { return len(g.Requests()) == 1 })
	// Two more fill the queue, three are dropped: the gate answers all.
	for i := 2; i <= 6; i++ {
		ask(fmt.Sprintf("p-%d", i))
	}
	// Grafana goes down: the hanging request is answered as it goes, the
	// two queued annotations fail twice each and are dropped.
	g.SetDown(true)
	g.Release()
	waitFor(t, func() bool { return counter(t, a.reg, "patchgate_annotations_dropped_total", "unavailable") == 2 })

	// Grafana is back: the next decision is annotated.
	g.SetDown(false)
	last := ask("p-7")
	closed = true
	if err := a.Close(); err != nil { // drains the queue
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, reason string
		want         float64
	}{
		{"patchgate_annotations_sent_total", "", 2},
		{"patchgate_annotations_failed_total", "", 4},
		{"patchgate_annotations_dropped_total", "queue_full", 3},
		{"patchgate_annotations_dropped_total", "unavailable", 2},
		{"patchgate_annotations_dropped_total", "rejected", 0},
		{"patchgate_annotations_dropped_total", "shutdown", 0},
	} {
		if got := counter(t, a.reg, c.name, c.reason); got != c.want {
			t.Errorf("%s{reason=%q} = %v, want %v", c.name, c.reason, got, c.want)
		}
	}
	got := g.Annotations()
	if len(got) != 2 {
		t.Fatalf("%d annotations in Grafana, want 2: %+v", len(got), got)
	}
	an := got[1]
	wantTags := []string{"patchgate", "service:checkout", "patch_id:p-7", "stage:canary", "verdict:no_go"}
	if an.DashboardUID != "patchgate-oncall" || !slices.Equal(an.Tags, wantTags) || an.Text != last.Reason ||
		an.Time != last.EvaluatedAt.UnixMilli() {
		t.Errorf("annotation %+v\nwant tags %v, text %q on patchgate-oncall", an, wantTags, last.Reason)
	}

	st, err := store.Open(context.Background(), "sqlite", cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if list, err := st.ListDecisions(context.Background(), store.Filter{}); err != nil || len(list) != 7 {
		t.Errorf("%d decisions recorded (%v), want 7", len(list), err)
	}
}

// waitFor polls cond until it holds, for at most 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// counter reads a counter of the registry; reason selects the series of
// patchgate_annotations_dropped_total.
func counter(t *testing.T, reg *prometheus.Registry, name, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := reason == ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					match = true
				}
			}
			if match {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{reason=%q}", name, reason)
	return 0
}

// TestDashboardsForGrafana writes the dashboards for Grafana 10 and 11 and
// publishes them to a Grafana that reports 11.3.0: each carries the
// schemaVersion of its release.
func TestDashboardsForGrafana(t *testing.T) {
	schemaOf := func(model map[string]any) any { return model["schemaVersion"] }
	for _, tc := range []struct {
		version string
		schema  float64
	}{{"10", 38}, {"11.6.2", 39}, {"latest", 42}} {
		dir := t.TempDir()
		code, out := runCmd(t, "generate", "dashboards", "--config", dashboardsConfig, "--out", dir, "--grafana-version", tc.version)
		if code != 0 {
			t.Fatalf("--grafana-version %s: exit %d: %s", tc.version, code, out)
		}
		b, err := os.ReadFile(filepath.Join(dir, "pg-oncall.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if schemaOf(m) != tc.schema {
			t.Errorf("--grafana-version %s: schemaVersion %v, want %v", tc.version, schemaOf(m), tc.schema)
		}
	}
	if code, out := runCmd(t, "generate", "dashboards", "--config", dashboardsConfig, "--out", t.TempDir(), "--grafana-version", "9.5"); code != exitError || !strings.Contains(out, `--grafana-version: grafana version "9.5": Grafana 10 or later is needed`) {
		t.Errorf("--grafana-version 9.5: exit %d: %s", code, out)
	}

	g := grafanatest.New(t)
	t.Setenv("GRAFANA_TOKEN", grafanatest.Token)
	code, out := runCmd(t, "publish", "--config", dashboardsConfig, "--grafana-url", g.URL)
	if code != 0 {
		t.Fatalf("publish: exit %d: %s", code, out)
	}
	if !strings.Contains(out, "written for Grafana 11.3.0 (schemaVersion 39)") {
		t.Errorf("publish said:\n%s", out)
	}
	if m, _, _, ok := g.Dashboard("pg-oncall"); !ok || schemaOf(m) != float64(39) {
		t.Errorf("Grafana 11.3.0 holds schemaVersion %v, want 39", schemaOf(m))
	}
	code, out = runCmd(t, "publish", "--config", dashboardsConfig, "--grafana-url", g.URL, "--grafana-version", "latest")
	if code != 0 || !strings.Contains(out, "5 updated") {
		t.Fatalf("publish --grafana-version latest: exit %d: %s", code, out)
	}
	if m, _, _, _ := g.Dashboard("pg-oncall"); schemaOf(m) != float64(42) {
		t.Errorf("after --grafana-version latest Grafana holds schemaVersion %v, want 42", schemaOf(m))
	}
}
