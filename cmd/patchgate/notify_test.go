package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/testbed"
	"github.com/patchgate/patchgate/server"
)

const notifyConfig = `
source: {type: embedded}
store: {dsn: "DSN"}
tokens: [{name: rollout, token: "notify-test-token-0123456789", scopes: [gate]}]
ui:
  external_url: https://patchgate.example.com
notify:
  webhooks:
    - {name: sre-slack, url_env: PATCHGATE_TEST_SLACK_URL}
    - {name: down, url: DOWN, format: json, on: [no_go, go]}
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

// TestGateNotifiesWebhooks runs the real gate with two webhooks, one of
// them down: the no_go reaches the Slack-compatible receiver with its
// reason and a link to the decision page, the answers never wait for the
// receiver that is down, and /metrics counts both.
func TestGateNotifiesWebhooks(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	now := t0.Add(10 * time.Minute)
	src := testbed.Source(t, testbed.Requests(
		testbed.Traffic{Service: "checkout", Track: "canary", RPS: 20, ErrorRatio: 0.05, From: t0, To: now},
		testbed.Traffic{Service: "checkout", Track: "baseline", RPS: 200, ErrorRatio: 0.005, From: t0, To: now})...)

	var mu sync.Mutex
	var texts []string
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		texts = append(texts, m["text"])
		mu.Unlock()
	}))
	defer slack.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	t.Setenv("PATCHGATE_TEST_SLACK_URL", slack.URL+"/services/T0/B0/secret")

	text := strings.NewReplacer("DSN", filepath.Join(t.TempDir(), "gate.db"), "DOWN", down.URL).Replace(notifyConfig)
	cfg := loadConfigText(t, text)
	a, err := newApp(context.Background(), cfg, appOptions{source: src, now: func() time.Time { return now }, notifyBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a.Handler())
	defer ts.Close()
	client := &server.Client{URL: ts.URL, Token: "notify-test-token-0123456789", HTTP: &http.Client{Timeout: 30 * time.Second}}
	d, err := client.Gate(context.Background(), gate.Request{Service: "checkout", PatchID: "p-1", Stage: "canary",
		Params: map[string]string{gate.ParamStageStartedAt: t0.Format(time.RFC3339)}})
	if err != nil || d.Decision != gate.NoGo {
		t.Fatalf("ask: %+v, %v; want no_go", d, err)
	}
	if err := a.Close(); err != nil { // drains the queues
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(texts) != 1 {
		t.Fatalf("slack receiver got %q, want the no_go", texts)
	}
	link := "<https://patchgate.example.com/ui/decisions/" + d.ID + "|Open the decision>"
	if !strings.HasPrefix(texts[0], "NO GO: checkout p-1 at stage canary: error_delta failed: canary") || !strings.HasSuffix(texts[0], link) {
		t.Errorf("slack text %q, want the verdict, the reason and %s", texts[0], link)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"patchgate_notifications_sent_total", map[string]string{"webhook": "sre-slack"}, 1},
		{"patchgate_notifications_failed_total", map[string]string{"webhook": "down"}, 4},
		{"patchgate_notifications_dropped_total", map[string]string{"webhook": "down", "reason": "unavailable"}, 1},
	} {
		if got := labelled(t, a, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// labelled reads the counter of a's registry with the given labels.
func labelled(t *testing.T, a *app, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}
