package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/testbed"
)

const operatorConfig = `
source: {type: embedded}
store: {dsn: "DSN"}
tokens:
  - {name: rollout, token: "rollout-token-0123456789", scopes: [gate]}
  - {name: sre-alice, token: "override-token-0123456789", scopes: [override]}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 95}
    checks: {error_delta: {}, min_traffic: {requests: 1000}}
    stages: [{name: canary, max_wait: 30m}]
`

// TestOverrideAppliesAtOnce wires the whole app: an override posted
// through the API changes the very next answer of POST /v1/gate, within
// the same look, and its deletion does too.
func TestOverrideAppliesAtOnce(t *testing.T) {
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	now := start.Add(10 * time.Minute)
	from := start.Add(-5 * time.Minute)
	src := testbed.Source(t, testbed.Requests(
		testbed.Traffic{Service: "checkout", Track: "canary", RPS: 100, ErrorRatio: 0.04, From: from, To: now},
		testbed.Traffic{Service: "checkout", Track: "baseline", RPS: 1900, ErrorRatio: 0.005, From: from, To: now})...)
	cfg, err := config.Parse("patchgate.yaml", []byte(strings.ReplaceAll(operatorConfig, "DSN", filepath.Join(t.TempDir(), "gate.db"))))
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, appOptions{source: src, now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ts := httptest.NewServer(a.Handler())
	defer ts.Close()

	call := func(method, path, token, body string, want int) map[string]any {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %v, want %d", method, path, resp.StatusCode, out, want)
		}
		return out
	}
	ask := func() map[string]any {
		return call("POST", "/v1/gate", "rollout-token-0123456789",
			`{"service":"checkout","patch_id":"openssl-3.0.15","stage":"canary","params":{"stage_started_at":"2026-11-26T10:00:00Z"}}`, 200)
	}

	if d := ask(); d["decision"] != "no_go" || d["override"] != nil {
		t.Fatalf("before the override: %v", d)
	}
	call("POST", "/v1/overrides", "rollout-token-0123456789", `{"service":"checkout","verdict":"go","reason":"r","ttl":"1h"}`, 403)
	if d := ask(); d["decision"] != "no_go" {
		t.Fatalf("a refused override changed the answer: %v", d)
	}
	o := call("POST", "/v1/overrides", "override-token-0123456789",
		`{"service":"checkout","patch_id":"openssl-3.0.15","verdict":"go","reason":"ship the CVE fix, INC-7","ttl":"1h"}`, 201)
	d := ask()
	ov, _ := d["override"].(map[string]any)
	if d["decision"] != "go" || ov == nil || ov["id"] != o["id"] || ov["actor"] != "sre-alice" ||
		!strings.HasPrefix(d["reason"].(string), "overridden by sre-alice until 2026-11-26T11:10:00Z: ship the CVE fix, INC-7; bypassed checks: error_delta") {
		t.Fatalf("under the override: %v", d)
	}
	call("DELETE", "/v1/overrides/"+o["id"].(string)+"?reason=rolled+back+instead", "override-token-0123456789", "", 200)
	if d := ask(); d["decision"] != "no_go" || d["override"] != nil {
		t.Fatalf("after deleting the override: %v", d)
	}
}
