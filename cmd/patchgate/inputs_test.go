package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/promtest"
)

// TestInputsCheck asks a real Prometheus which of the series patchgate
// needs from others it holds: a required one absent fails the check, and
// a status value patchgate does not know is named.
func TestInputsCheck(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	var series []promtest.Series
	series = append(series, counters("checkout", "canary", 10, 0.01, now.Add(-20*time.Minute), now)...)
	for _, status := range []string{"patched", "ok"} {
		s := promtest.Series{Name: "patchgate_fleet_assets", Labels: map[string]string{"cluster": "eu", "service": "checkout", "patch_id": "p", "severity": "high", "status": status}}
		for ts := now.Add(-10 * time.Minute); !ts.After(now); ts = ts.Add(time.Minute) {
			s.Samples = append(s.Samples, promtest.Point{T: ts, V: 3})
		}
		series = append(series, s)
	}
	prom := promtest.Start(t, series)
	cfg := strings.NewReplacer("URL", prom.URL).Replace(`
source: {type: prometheus, url: "URL"}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
    slo: {objective: 99}
    checks: {burn_rate: {}}
    stages: [{name: all}]
`)
	path := filepath.Join(t.TempDir(), "patchgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"inputs", "--config", path, "--check"}, &stdout, &stderr)
	if code != exitProblems || !strings.Contains(stderr.String(), "1 required input(s) absent") {
		t.Fatalf("exit %d, stderr %q; want 1 for the absent compliance checks\n%s", code, stderr.String(), stdout.String())
	}
	lines := map[string]string{}
	for _, l := range strings.Split(stdout.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = l
		}
	}
	for name, want := range map[string]string{
		"http_requests_total":               "present (2 series)",
		"patchgate_fleet_assets":            `present (2 series); unknown status="ok" (want one of patched, pending, failed, offline): not counted`,
		"patchgate_fleet_compliance_checks": "ABSENT",
		"node_boot_time_seconds":            "absent",
	} {
		if !strings.HasSuffix(lines[name], want) {
			t.Errorf("%s: %q, want it to end %q", name, lines[name], want)
		}
	}
}
