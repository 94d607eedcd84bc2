package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// receiver records the bodies posted to it and answers with statuses in
// turn (200 once they run out).
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	statuses []int
}

func newReceiver(t *testing.T, statuses ...int) (*receiver, *httptest.Server) {
	r := &receiver{statuses: statuses}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if req.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		if status == http.StatusOK {
			r.bodies = append(r.bodies, b)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(ts.Close)
	return r, ts
}

func (r *receiver) got() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies
}

var at = time.Date(2026, 11, 26, 1, 16, 0, 0, time.UTC)

func decision(id, verdict string, shadow bool) Decision {
	answer := verdict
	if shadow {
		answer = "go"
	}
	return Decision{ID: id, Time: at, Service: "payments", PatchID: "kernel-6.1.119", Stage: "canary", Answer: answer, Verdict: verdict,
		Shadow: shadow, Reason: "error_delta failed: canary 2.61% errors against baseline 0.30%: +2.30 pp, beyond the 0.5 pp margin <b>"}
}

func newNotifier(t *testing.T, reg *prometheus.Registry, hooks ...Webhook) *Notifier {
	t.Helper()
	cfg := Config{Webhooks: hooks, ExternalURL: "https://patchgate.example.com/", Backoff: time.Millisecond, Attempts: 3}
	if reg != nil {
		cfg.Registerer = reg
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	return n
}

func TestSlackAndJSON(t *testing.T) {
	slack, slackSrv := newReceiver(t)
	plain, plainSrv := newReceiver(t)
	reg := prometheus.NewRegistry()
	n := newNotifier(t, reg,
		Webhook{Name: "sre-slack", URL: slackSrv.URL, Format: FormatSlack, On: []string{"no_go"}, Shadow: true},
		Webhook{Name: "audit", URL: plainSrv.URL, Format: FormatJSON, On: []string{"no_go", "wait"}, Shadow: false})
	n.Notify(decision("d-1", "no_go", false))
	n.Notify(decision("d-2", "go", false))   // nobody wants go
	n.Notify(decision("d-3", "wait", false)) // only audit
	n.Notify(decision("d-4", "no_go", true)) // shadow: only slack
	n.Stop(context.Background())

	var texts []string
	for _, b := range slack.got() {
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("slack body %s: %v", b, err)
		}
		texts = append(texts, m["text"])
	}
	if len(texts) != 2 {
		t.Fatalf("slack got %q, want d-1 and d-4", texts)
	}
	want := "NO GO: payments kernel-6.1.119 at stage canary: error_delta failed: canary 2.61% errors against baseline 0.30%: +2.30 pp, beyond the 0.5 pp margin &lt;b&gt; <https://patchgate.example.com/ui/decisions/d-1|Open the decision>"
	if texts[0] != want {
		t.Errorf("slack text\n%s\nwant\n%s", texts[0], want)
	}
	if !strings.HasPrefix(texts[1], "[shadow] payments kernel-6.1.119 at stage canary evaluated NO GO, not enforced (shadow mode answered go)") ||
		!strings.HasSuffix(texts[1], "<https://patchgate.example.com/ui/decisions/d-4|Open the decision>") {
		t.Errorf("shadow text %q", texts[1])
	}

	bodies := plain.got()
	if len(bodies) != 2 {
		t.Fatalf("json receiver got %d, want d-1 and d-3", len(bodies))
	}
	var j map[string]any
	if err := json.Unmarshal(bodies[1], &j); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"decision_id": "d-3", "decision": "wait", "evaluated": "wait", "mode": "enforce", "shadow": false,
		"service": "payments", "patch_id": "kernel-6.1.119", "stage": "canary", "evaluated_at": "2026-11-26T01:16:00Z",
		"url": "https://patchgate.example.com/ui/decisions/d-3"} {
		if j[k] != v {
			t.Errorf("json %s = %v, want %v", k, j[k], v)
		}
	}
	if r, _ := j["reason"].(string); !strings.Contains(r, "beyond the 0.5 pp margin <b>") {
		t.Errorf("json reason %q", r)
	}
	if got := testutil.ToFloat64(n.sent.WithLabelValues("sre-slack")) + testutil.ToFloat64(n.sent.WithLabelValues("audit")); got != 4 {
		t.Errorf("sent %v, want 4", got)
	}
	if c, err := testutil.GatherAndCount(reg, MetricSent, MetricFailed, MetricDropped, MetricQueued); err != nil || c == 0 {
		t.Errorf("metrics not registered: %d %v", c, err)
	}
}

func TestRetriesAndRefusals(t *testing.T) {
	flaky, flakySrv := newReceiver(t, http.StatusServiceUnavailable, http.StatusTooManyRequests)
	_, refusing := newReceiver(t, http.StatusBadRequest)
	n := newNotifier(t, nil,
		Webhook{Name: "flaky", URL: flakySrv.URL, Format: FormatJSON, On: []string{"no_go"}},
		Webhook{Name: "refusing", URL: refusing.URL, Format: FormatJSON, On: []string{"no_go"}})
	n.Notify(decision("d-1", "no_go", false))
	n.Stop(context.Background())
	if len(flaky.got()) != 1 || testutil.ToFloat64(n.sent.WithLabelValues("flaky")) != 1 || testutil.ToFloat64(n.failed.WithLabelValues("flaky")) != 2 {
		t.Errorf("flaky receiver: delivered %d, sent %v, failed %v; want delivered on the third attempt", len(flaky.got()),
			testutil.ToFloat64(n.sent.WithLabelValues("flaky")), testutil.ToFloat64(n.failed.WithLabelValues("flaky")))
	}
	if testutil.ToFloat64(n.failed.WithLabelValues("refusing")) != 1 || testutil.ToFloat64(n.dropped.WithLabelValues("refusing", DropRejected)) != 1 {
		t.Errorf("a 400 is retried or not counted as rejected")
	}
}

// A receiver that is down costs retries and a counted drop, and its URL,
// a secret for Slack, stays out of the log.
func TestReceiverDown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	target := down.URL + "/services/T000/B000/SECRETPART"
	down.Close()
	var log bytes.Buffer
	n, err := New(Config{ExternalURL: "https://patchgate.example.com", Backoff: time.Millisecond, Attempts: 3,
		Logger:   slog.New(slog.NewTextHandler(&log, nil)),
		Webhooks: []Webhook{{Name: "slack", URL: target, Format: FormatSlack, On: []string{"no_go"}}}})
	if err != nil {
		t.Fatal(err)
	}
	n.Notify(decision("d-1", "no_go", false))
	n.Stop(context.Background())
	if f, d := testutil.ToFloat64(n.failed.WithLabelValues("slack")), testutil.ToFloat64(n.dropped.WithLabelValues("slack", DropUnavailable)); f != 3 || d != 1 {
		t.Errorf("failed %v (want 3 attempts), dropped unavailable %v (want 1)", f, d)
	}
	if strings.Contains(log.String(), "SECRETPART") {
		t.Errorf("the webhook URL is in the log: %s", log.String())
	}
	if !strings.Contains(log.String(), "webhook=slack") {
		t.Errorf("the log does not name the webhook: %s", log.String())
	}
}

// Notify never waits for a receiver: past the queue, notifications are
// dropped and counted, and every one is either delivered or counted.
func TestNotifyNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	delivered := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		mu.Lock()
		delivered++
		mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	n, err := New(Config{ExternalURL: "https://patchgate.example.com", QueueSize: 2,
		Webhooks: []Webhook{{Name: "slow", URL: ts.URL, Format: FormatJSON, On: []string{"no_go"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		n.Notify(decision("d-"+string(rune('a'+i)), "no_go", false))
	}
	full := testutil.ToFloat64(n.dropped.WithLabelValues("slow", DropQueueFull))
	if full < 7 {
		t.Errorf("%v dropped as queue_full with a queue of 2 and one in flight, want at least 7", full)
	}
	close(release)
	n.Stop(context.Background())
	if got := float64(delivered) + full; got != 10 {
		t.Errorf("delivered %d + dropped %v = %v, want every one of 10 accounted for", delivered, full, got)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{ExternalURL: "patchgate"},
		{ExternalURL: "https://p.example", Webhooks: []Webhook{{Name: "x", URL: "http://r", Format: "xml"}}},
	} {
		if _, err := New(cfg); err == nil || !strings.HasPrefix(err.Error(), "invalid configuration:") {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}
