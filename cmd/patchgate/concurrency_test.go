package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/testbed"
	"github.com/patchgate/patchgate/server"
)

// TestConcurrencyLineIsVisible: with room for one service at a time, the
// first of three services to ask patches, the other two wait in line, and
// GET /v1/concurrency shows the same line the answers describe.
func TestConcurrencyLineIsVisible(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "source: {type: embedded}\nstore: {dsn: %q}\ntokens: [{name: ci, token: \"concurrency-token-0123\", scopes: [gate]}]\nconcurrency: {max_services: 1}\nservices:\n",
		filepath.Join(t.TempDir(), "s.db"))
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		fmt.Fprintf(&b, `  - name: %s
    sli:
      errors: sum(rate(http_requests_total{service="%[1]s",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="%[1]s"}[{{.window}}]))
    slo: {objective: 99}
    checks: {burn_rate: {}}
    stages: [{name: canary}]
`, name)
	}
	cfg, err := config.Parse("c.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	src := testbed.Source(t)
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	a, err := newApp(context.Background(), cfg, appOptions{source: src, now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ts := httptest.NewServer(a.Handler())
	defer ts.Close()
	c := &server.Client{URL: ts.URL, Token: "concurrency-token-0123"}
	for i, svc := range []string{"alpha", "bravo", "charlie"} {
		now = now.Add(time.Second)
		d, err := c.Gate(context.Background(), gate.Request{Service: svc, PatchID: "p-" + svc, Stage: "canary"})
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (d.Decision != gate.Wait || !strings.Contains(d.Reason, fmt.Sprintf("number %d in line", i))) {
			t.Errorf("%s: %s (%s), want a wait naming place %d in line", svc, d.Decision, d.Reason, i)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/concurrency", nil)
	req.Header.Set("Authorization", "Bearer concurrency-token-0123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var line struct {
		Limits struct {
			MaxServices int `json:"max_services"`
		}
		Patching []server.SlotView
		Queue    []server.SlotView
	}
	if err := json.NewDecoder(resp.Body).Decode(&line); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || line.Limits.MaxServices != 1 {
		t.Fatalf("GET /v1/concurrency = %d, limits %+v", resp.StatusCode, line.Limits)
	}
	if len(line.Patching) != 1 || line.Patching[0].Service != "alpha" {
		t.Fatalf("patching = %+v, want alpha alone", line.Patching)
	}
	if len(line.Queue) != 2 || line.Queue[0].Service != "bravo" || line.Queue[0].Position != 1 || line.Queue[1].Service != "charlie" || line.Queue[1].Position != 2 {
		t.Fatalf("queue = %+v, want bravo then charlie", line.Queue)
	}
}
