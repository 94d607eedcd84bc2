package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/testenv"
)

// TestReadyzFailsWhileSourceUnreachable points serve's components at a
// Prometheus address nobody listens on.
func TestReadyzFailsWhileSourceUnreachable(t *testing.T) {
	port := testenv.FreePort(t)
	dir := t.TempDir()
	text := strings.NewReplacer("PORT", itoa(port), "DSN", filepath.Join(dir, "s.db")).Replace(`
source: {type: prometheus, url: "http://127.0.0.1:PORT", timeout: 2s}
store: {dsn: "DSN"}
tokens: [{name: t, token: "ready-token-0123456789", scopes: [gate]}]
services:
  - name: web
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
    slo: {objective: 99}
    checks: {burn_rate: {}}
    stages: [{name: canary}]
`)
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ts := httptest.NewServer(a.server.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Status, Reason string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body.Reason, "metric source") {
		t.Fatalf("/readyz = %d %+v, want 503 naming the metric source", resp.StatusCode, body)
	}
	// The gate still answers, and never with go.
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/gate", strings.NewReader(`{"service":"web","patch_id":"p","stage":"canary"}`))
	req.Header.Set("Authorization", "Bearer ready-token-0123456789")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var d struct{ Decision, Reason string }
	if err := json.NewDecoder(resp2.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if resp2.StatusCode != http.StatusOK || d.Decision == "go" || d.Decision == "" {
		t.Fatalf("gate with the source down: %d %+v", resp2.StatusCode, d)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
