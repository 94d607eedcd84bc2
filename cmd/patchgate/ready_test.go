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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
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
	cfg := loadConfigText(t, text)
	a, err := newApp(context.Background(), cfg, appOptions{})
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
	defer resp.Body.Close()
	var body struct{ Status, Component, Reason string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || body.Component != "metric_source" || body.Reason != "" {
		t.Fatalf("/readyz = %d %+v, want 503 naming the metric source and nothing more", resp.StatusCode, body)
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

// syncBuffer is a bytes.Buffer safe to write from serve and read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeNeverShowsSourceCredentials runs serve with user:password in the
// Prometheus URL (nobody listens there): the startup line, the log and the
// unauthenticated /readyz show neither the password nor the address; a gate
// token sees the reason, still without the credentials.
func TestServeNeverShowsSourceCredentials(t *testing.T) {
	const password = "s3cret-pw-4711"
	promPort, port := testenv.FreePort(t), testenv.FreePort(t)
	dir := t.TempDir()
	text := strings.NewReplacer("PROM", itoa(promPort), "DSN", filepath.Join(dir, "s.db"), "PASSWORD", password).Replace(`
source: {type: prometheus, url: "http://alice:PASSWORD@127.0.0.1:PROM", timeout: 2s}
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
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--config", path, "--listen", "127.0.0.1:" + itoa(port)}, &stdout, &stderr)
	}()
	defer func() {
		cancel()
		<-done
	}()
	for !strings.Contains(stdout.String(), "patchgate serving") {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d: %s%s", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	base := "http://127.0.0.1:" + itoa(port)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"/readyz", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"component":"metric_source"`) ||
		strings.Contains(body, "127.0.0.1") || strings.Contains(body, "alice") {
		t.Errorf("unauthenticated /readyz = %d %s, want 503 naming only the component", code, body)
	}
	code, body = get("ready-token-0123456789")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"reason"`) {
		t.Errorf("/readyz with a gate token = %d %s, want the reason", code, body)
	}
	for name, text := range map[string]string{"authenticated /readyz": body, "stdout": stdout.String(), "log": stderr.String()} {
		if strings.Contains(text, password) {
			t.Errorf("%s shows the source password: %s", name, text)
		}
	}
	if !strings.Contains(stdout.String(), "http://REDACTED@127.0.0.1:"+itoa(promPort)) {
		t.Errorf("startup line %q, want the source URL with its credentials redacted", stdout.String())
	}
}

// TestStoreFailureAnswers503 closes the store under a running app, as a
// lost database would: asks get 503 "store unavailable, retry" with a
// Retry-After, never a decision or the driver's text; /readyz names the
// store; check --wait asks again as told and gives up at its deadline.
func TestStoreFailureAnswers503(t *testing.T) {
	dir := t.TempDir()
	text := strings.NewReplacer("DSN", filepath.Join(dir, "s.db")).Replace(`
source: {type: prometheus, url: "http://127.0.0.1:1"}
store: {dsn: "DSN"}
tokens: [{name: t, token: "store-token-0123456789", scopes: [gate]}]
services:
  - name: web
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
    slo: {objective: 99}
    checks: {burn_rate: {}}
    stages: [{name: canary}]
`)
	cfg := loadConfigText(t, text)
	src, err := metricsource.NewEmbedded(metricsource.EmbeddedConfig{Dir: filepath.Join(dir, "tsdb")})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, appOptions{source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ts := httptest.NewServer(a.Handler())
	defer ts.Close()
	if resp, err := http.Get(ts.URL + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz before: %v %v", resp, err)
	}
	a.store.Close()

	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/gate", strings.NewReader(`{"service":"web","patch_id":"p","stage":"canary"}`))
	req.Header.Set("Authorization", "Bearer store-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), `"store unavailable, retry"`) || strings.Contains(string(body), "sql") {
		t.Fatalf("gate with the store closed: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, err = http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"component":"store"`) {
		t.Fatalf("/readyz with the store closed: %d %s", resp.StatusCode, body)
	}

	// check --wait 7s: one retry after the 5 s asked for, then the next
	// would pass the deadline: exit 2 with the reason.
	code, out := runCmd(t, "check", "--server", ts.URL, "--token", "store-token-0123456789", "--service", "web",
		"--patch", "p", "--stage", "canary", "--wait", "7s")
	if code != 2 || strings.Count(out, "store unavailable, retry; asking again in 5s") != 1 || !strings.Contains(out, "503") {
		t.Fatalf("check --wait with the store down: exit %d, %q", code, out)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
