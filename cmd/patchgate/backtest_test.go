package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/testbed"
)

const backtestConfig = `
source: {type: prometheus, url: "URL", timeout: 10s}
store: {dsn: "DSN"}
tokens: [{name: rollout, token_env: PATCHGATE_BACKTEST_TOKEN_UNSET, scopes: [gate]}]
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="{{.params.track}}"}'
      baseline: '{track="baseline"}'
    slo: {objective: 95}
    checks:
      error_delta: {margin_pp: MARGIN}
      min_traffic: {requests: 1000}
      burn_rate: {}
      alerts: {}
      freshness: {}
    stages: [{name: canary, max_wait: 30m}]
`

// TestBacktestAgainstRealPrometheus replays stages over data backfilled
// into a real Prometheus, checks the verdicts the test's data implies,
// and that each equals what the live gate answers when asked once a
// minute over the same data.
func TestBacktestAgainstRealPrometheus(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 7, 0, time.UTC) // not on a minute
	from, to := t0.Add(-70*time.Minute), t0.Add(40*time.Minute)
	var series []promtest.Series
	series = append(series, counters("checkout", "baseline", 1900, 0.005, from, to)...)
	series = append(series, counters("checkout", "healthy", 100, 0.005, from, to)...)
	series = append(series, counters("checkout", "regressing", 100, 0.03, from, to)...)
	series = append(series, counters("checkout", "near", 100, 0.0075, from, to)...)
	prom := promtest.Start(t, series)

	dir := t.TempDir()
	dsn := filepath.Join(dir, "never-created.db")
	write := func(name, margin string) string {
		text := strings.NewReplacer("URL", prom.URL, "DSN", dsn, "MARGIN", margin).Replace(backtestConfig)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	policy, strict := write("patchgate.yaml", "0.5"), write("strict.yaml", "0.1")
	start := t0.Format(time.RFC3339)
	csvText := "service,patch_id,stage,started_at,track\n" +
		"checkout,openssl,canary," + start + ",healthy\n" +
		"checkout,kernel,canary," + start + ",regressing\n" +
		"checkout,zlib,canary," + start + ",near\n" +
		"checkout,glibc,canary," + start + ",absent\n" +
		"checkout,curl,canary,last tuesday,healthy\n" +
		"checkout,sudo,nightly," + start + ",healthy\n"
	stagesPath := filepath.Join(dir, "stages.csv")
	if err := os.WriteFile(stagesPath, []byte(csvText), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"backtest", "--config", policy, "--stages", stagesPath, "--out", out, "--compare", strict}, &stdout, &stderr)
	if code != exitProblems {
		t.Fatalf("exit %d, want 1 for the two bad rows\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		stagesPath + ":6: column started_at: want an RFC 3339 time",
		stagesPath + ":7: stage: unknown stage \"nightly\"",
		"note: overrides and freezes made through the API are not replayed",
		"10 of 10 stage replays done (100%)",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if _, err := os.Stat(dsn); !os.IsNotExist(err) {
		t.Errorf("the backtest touched the store %s: %v", dsn, err)
	}
	var rep struct {
		Results []struct {
			PatchID        string            `json:"patch_id"`
			Params         map[string]string `json:"params"`
			Decision       gate.Verdict      `json:"decision"`
			Minute         int               `json:"minute"`
			TimedOut       bool              `json:"timed_out"`
			Reason         string            `json:"reason"`
			CanaryRequests float64           `json:"canary_requests"`
			Compare        *struct {
				Decision gate.Verdict `json:"decision"`
				Minute   int          `json:"minute"`
			} `json:"compare"`
		} `json:"results"`
		Summary struct {
			Stages, Failed int
		} `json:"summary"`
	}
	data, err := os.ReadFile(filepath.Join(out, "backtest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"backtest.csv", "backtest.html"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if len(rep.Results) != 4 || rep.Summary.Failed != 2 {
		t.Fatalf("%d results, %d failed; want 4 and 2:\n%s", len(rep.Results), rep.Summary.Failed, data)
	}
	want := map[string]gate.Verdict{"openssl": gate.Go, "kernel": gate.NoGo, "glibc": gate.NoGo}
	cfg, err := config.LoadWithoutSecrets(policy)
	if err != nil {
		t.Fatal(err)
	}
	src, err := metricsource.NewHTTP(metricsource.HTTPConfig{URL: prom.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if w, ok := want[r.PatchID]; ok && r.Decision != w {
			t.Errorf("%s: %s at minute %d (%s), want %s", r.PatchID, r.Decision, r.Minute, r.Reason, w)
		}
		if r.PatchID == "glibc" && !r.TimedOut {
			t.Errorf("absent data: %s at minute %d without timing out", r.Decision, r.Minute)
		}
		if r.PatchID == "kernel" && (r.CanaryRequests < 100*60*float64(r.Minute)*0.9 || r.Compare == nil || r.Compare.Decision != gate.NoGo) {
			t.Errorf("kernel: %g canary requests at minute %d, compare %+v", r.CanaryRequests, r.Minute, r.Compare)
		}
		lv, lm := liveVerdict(t, cfg, src, r.PatchID, t0, r.Params)
		if lv != r.Decision || lm != r.Minute {
			t.Errorf("%s: backtest %s at minute %d, the live gate %s at minute %d", r.PatchID, r.Decision, r.Minute, lv, lm)
		}
	}
	if !strings.Contains(stdout.String(), "4 stage(s): ") || !strings.Contains(stdout.String(), "compared policy: ") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// liveVerdict asks the gate as serve does, once a minute, and returns the
// evaluated verdict and minute of the first go or no_go.
func liveVerdict(t *testing.T, cfg *config.Config, src gate.Querier, patch string, start time.Time, params map[string]string) (gate.Verdict, int) {
	t.Helper()
	var clock time.Time
	e, err := gate.New(gate.Config{Policy: cfg, Source: src, Store: testbed.Store(t), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]string{gate.ParamStageStartedAt: start.Format(time.RFC3339)}
	for k, v := range params {
		p[k] = v
	}
	for m := 1; m <= 30; m++ {
		clock = start.Add(time.Duration(m) * time.Minute)
		d, err := e.Decide(context.Background(), gate.Request{Service: "checkout", PatchID: patch, Stage: "canary", Params: p})
		if err != nil {
			t.Fatal(err)
		}
		if d.Evaluated() != gate.Wait || m == 30 {
			return d.Evaluated(), m
		}
	}
	return gate.Wait, 30
}
