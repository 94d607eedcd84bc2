package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/server"
)

// counters returns http_requests_total series for one track of a service:
// rps requests a second with error ratio p, every 15 s from `from` to `to`.
func counters(service, track string, rps, p float64, from, to time.Time) []promtest.Series {
	ok := promtest.Series{Name: "http_requests_total", Labels: map[string]string{"service": service, "track": track, "code": "200"}}
	bad := promtest.Series{Name: "http_requests_total", Labels: map[string]string{"service": service, "track": track, "code": "500"}}
	var nOK, nBad float64
	for ts := from; !ts.After(to); ts = ts.Add(15 * time.Second) {
		nOK += rps * 15 * (1 - p)
		nBad += rps * 15 * p
		ok.Samples = append(ok.Samples, promtest.Point{T: ts, V: nOK})
		bad.Samples = append(bad.Samples, promtest.Point{T: ts, V: nBad})
	}
	return []promtest.Series{ok, bad}
}

const integrationConfig = `
source: {type: prometheus, url: "URL", timeout: 10s}
store: {dsn: "DSN"}
tokens: [{name: rollout, token: "integration-token-0123456789", scopes: [gate]}]
services:
SERVICES`

const integrationService = `
  - name: NAME
    sli:
      errors: sum(rate(http_requests_total{service="NAME",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="NAME"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 95}
    checks:
      error_delta: {}
      min_traffic: {requests: 1000}
      burn_rate: {}
      alerts: {}
      freshness: {}
    stages: [{name: canary, max_wait: 30m}]
`

// TestGateAgainstRealPrometheus runs `serve`'s components against a real
// Prometheus (Debian package) holding recorded data, and asks over HTTP.
func TestGateAgainstRealPrometheus(t *testing.T) {
	end := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	start := end.Add(-70 * time.Minute)
	var series []promtest.Series
	series = append(series, counters("checkout", "canary", 100, 0.005, start, end)...)
	series = append(series, counters("checkout", "baseline", 1900, 0.005, start, end)...)
	series = append(series, counters("payments", "canary", 100, 0.04, start, end)...)
	series = append(series, counters("payments", "baseline", 1900, 0.005, start, end)...)
	// search stopped reporting 20 minutes before the ask.
	series = append(series, counters("search", "canary", 100, 0.005, start, end.Add(-20*time.Minute))...)
	series = append(series, counters("search", "baseline", 1900, 0.005, start, end.Add(-20*time.Minute))...)
	prom := promtest.Start(t, series)

	var services strings.Builder
	for _, s := range []string{"checkout", "payments", "search"} {
		services.WriteString(strings.ReplaceAll(integrationService, "NAME", s))
	}
	text := strings.NewReplacer("URL", prom.URL, "DSN", filepath.Join(t.TempDir(), "gate.db"), "SERVICES", services.String()).Replace(integrationConfig)
	cfg := loadConfigText(t, text)
	ctx := context.Background()
	a, err := newApp(ctx, cfg, appOptions{now: func() time.Time { return end }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ts := httptest.NewServer(a.Handler())
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d with Prometheus up", resp.StatusCode)
	}

	c := &server.Client{URL: ts.URL, Token: "integration-token-0123456789", HTTP: &http.Client{Timeout: 30 * time.Second}}
	cases := []struct {
		service string
		want    gate.Verdict
		reason  string
	}{
		{"checkout", gate.Go, "all 5 checks passed"},
		{"payments", gate.NoGo, "beyond the 0.5 pp margin"},
		{"search", gate.Wait, "stale or absent series are never a go"},
	}
	for _, tc := range cases {
		t.Run(tc.service, func(t *testing.T) {
			d, err := c.Gate(ctx, gate.Request{Service: tc.service, PatchID: "p-7", Stage: "canary",
				Params: map[string]string{gate.ParamStageStartedAt: end.Add(-10 * time.Minute).Format(time.RFC3339)}})
			if err != nil {
				t.Fatal(err)
			}
			if d.Decision != tc.want || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("%s: %s (%s), want %s with %q", tc.service, d.Decision, d.Reason, tc.want, tc.reason)
			}
			if d.Window.Look != 10 {
				t.Errorf("look %d, want 10", d.Window.Look)
			}
		})
	}
	list, err := a.store.ListDecisions(ctx, store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("%d decisions recorded, want 3", len(list))
	}
}
