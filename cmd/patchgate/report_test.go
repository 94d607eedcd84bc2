package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/internal/testbed"
	"github.com/patchgate/patchgate/report"
)

const reportConfigYAML = `
source: {type: prometheus, url: "URL", timeout: 10s}
store: {dsn: "DSN"}
targets: {compliance_pass: 90}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99}
    checks:
      freshness: {}
    stages: [{name: canary}]
`

// gauge is a constant series every 5 minutes from from to to.
func gauge(name string, labels map[string]string, v float64, from, to time.Time) promtest.Series {
	s := promtest.Series{Name: name, Labels: labels}
	for ts := from; !ts.After(to); ts = ts.Add(5 * time.Minute) {
		s.Samples = append(s.Samples, promtest.Point{T: ts, V: v})
	}
	return s
}

// TestReportAgainstRealPrometheus writes the report from a real
// Prometheus holding the fleet's input series (no recording rules) and a
// store holding a patch open for 20 days.
func TestReportAgainstRealPrometheus(t *testing.T) {
	now := time.Now().UTC()
	from, to := now.Add(-26*time.Hour), now.Add(-time.Minute)
	assets := func(cluster, severity, status string, v float64) promtest.Series {
		return gauge("patchgate_fleet_assets", map[string]string{"cluster": cluster, "service": "checkout",
			"severity": severity, "patch_id": "p-" + severity, "status": status}, v, from, to)
	}
	checks := func(result string, v float64) promtest.Series {
		return gauge("patchgate_fleet_compliance_checks", map[string]string{"cluster": "eu", "service": "checkout", "result": result}, v, from, to)
	}
	prom := promtest.Start(t, []promtest.Series{
		assets("eu", "critical", "patched", 90), assets("eu", "critical", "pending", 10), assets("eu", "critical", "offline", 5),
		assets("us", "high", "patched", 50), assets("us", "high", "failed", 0),
		checks("pass", 95), checks("fail", 5),
	})

	dir := t.TempDir()
	dsn := filepath.Join(dir, "gate.db")
	st, err := store.Open(context.Background(), "sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AppendEvent(context.Background(), store.Event{PatchID: "kernel-6.1.119", Type: store.EventDiscovered,
		Service: "checkout", Severity: "critical", Time: now.Add(-20 * 24 * time.Hour), IdempotencyKey: "d1"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	path := filepath.Join(dir, "patchgate.yaml")
	text := strings.NewReplacer("URL", prom.URL, "DSN", dsn).Replace(reportConfigYAML)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "coverage.json")
	code, output := runCmd(t, "report", "--config", path, "--format", "json", "--out", out, "--period", "1d")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, output)
	}
	if !strings.Contains(output, "wrote "+out) || !strings.Contains(output, "coverage 93.3%") {
		t.Errorf("output %q does not say what it wrote", output)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if c := r.Coverage.Overall; c.Good != 140 || c.Total != 150 || r.Coverage.Source != "computed" {
		t.Errorf("coverage %+v from %s, want 140 of 150 eligible assets computed from the input", c, r.Coverage.Source)
	}
	if c := r.Compliance.Overall; c.Status != report.Met || r.Targets.Compliance != 0.9 {
		t.Errorf("compliance %+v against %v, want met against the configured 90%%", c, r.Targets.Compliance)
	}
	if len(r.Exposure.Open) != 1 || r.Exposure.Open[0].PatchID != "kernel-6.1.119" || r.Exposure.Open[0].Status != report.Missed {
		t.Errorf("open patches %+v, want kernel-6.1.119 past the 14 days", r.Exposure.Open)
	}
	if r.DataSource != "Prometheus HTTP API at "+prom.URL || r.Store != "SQLite store" || r.Period.Length != "1d" {
		t.Errorf("sources %q, %q, period %q", r.DataSource, r.Store, r.Period.Length)
	}

	html := filepath.Join(dir, "coverage.html")
	if code, output := runCmd(t, "report", "--config", path, "--out", html, "--period", "1d"); code != exitOK {
		t.Fatalf("html: exit %d: %s", code, output)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(page), `<svg class="chart"`); n != 2 {
		// Coverage and compliance have data; exposure and rollbacks do not.
		t.Errorf("%d charts in the HTML report, want 2", n)
	}
}

func TestReportCommandErrors(t *testing.T) {
	dir := t.TempDir()
	embedded := filepath.Join(dir, "embedded.yaml")
	text := strings.Replace(reportConfigYAML, `{type: prometheus, url: "URL", timeout: 10s}`, "{type: embedded}", 1)
	text = strings.Replace(text, "DSN", filepath.Join(dir, "gate.db"), 1)
	if err := os.WriteFile(embedded, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.html")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"--config", embedded}, "--out is required"},
		{"bad format", []string{"--config", embedded, "--out", out, "--format", "pdf"}, `--format "pdf": want html, csv or json`},
		{"bad period", []string{"--config", embedded, "--out", out, "--period", "soon"}, `--period "soon"`},
		{"short period", []string{"--config", embedded, "--out", out, "--period", "5m"}, "period 5m is out of range"},
		{"missing config", []string{"--config", filepath.Join(dir, "nope.yaml"), "--out", out}, "no such file"},
		{"embedded source", []string{"--config", embedded, "--out", out}, "only available in `patchgate demo`"},
		{"stray argument", []string{"--config", embedded, "--out", out, "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, output := runCmd(t, append([]string{"report"}, tt.args...)...)
			if code != exitError || !strings.Contains(output, tt.want) {
				t.Errorf("exit %d, output %q; want exit %d with %q", code, output, exitError, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a failed run wrote the report")
			}
		})
	}
}

// TestServedUIAndReportURLs: the URLs the demo prints are served by the
// app, the report built from its metric source and store.
func TestServedUIAndReportURLs(t *testing.T) {
	dir := t.TempDir()
	src := testbed.Source(t)
	cfg, err := config.Parse("demo.yaml", demoConfig)
	if err != nil {
		t.Fatal(err)
	}
	const token = "ui-test-token-0123456789"
	cfg.Tokens = []config.Token{{Name: "demo", Value: token, Scopes: []string{config.ScopeAdmin}}}
	cfg.Store = config.Store{Driver: "sqlite", DSN: filepath.Join(dir, "patchgate.db")}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	a, err := newApp(context.Background(), cfg, appOptions{source: src, now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ts := httptest.NewServer(a.Handler())
	defer ts.Close()

	var printed bytes.Buffer
	printUIURLs(&printed, ts.URL)
	urls := regexp.MustCompile(`http://\S+`).FindAllString(printed.String(), -1)
	if len(urls) != 2 {
		t.Fatalf("printed %q, want the UI and the report URLs", printed.String())
	}
	for _, u := range urls {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s: %.300s", u, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if strings.Contains(u, "/reports/coverage") && !strings.Contains(string(body), `id="generated">Generated <time datetime="2026-11-26T12:00:00Z">`) {
			t.Errorf("the report does not read the app's clock")
		}
	}
}
