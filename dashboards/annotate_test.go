package dashboards

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/patchgate/patchgate/internal/grafanatest"
)

func newAnnotator(t *testing.T, g *grafanatest.Server, token string, queue int) (*Annotator, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	a, err := NewAnnotator(AnnotatorConfig{
		Grafana:      ClientConfig{URL: g.URL, Token: token, Retry: fastRetry},
		DashboardUID: "pg-oncall",
		QueueSize:    queue,
		Registerer:   reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(context.Background()) })
	return a, reg
}

var evaluatedAt = time.Date(2026, 11, 26, 10, 3, 0, 0, time.UTC)

func decision(patch, verdict, reason string) Annotation {
	return Annotation{Time: evaluatedAt, Service: "checkout", PatchID: patch, Stage: "canary", Verdict: verdict, Text: reason}
}

// counts reads the annotator's counters.
func counts(a *Annotator) (sent, failed float64, dropped map[string]float64) {
	dropped = map[string]float64{}
	for _, r := range []string{DropQueueFull, DropUnavailable, DropRejected, DropShutdown} {
		dropped[r] = testutil.ToFloat64(a.dropped.WithLabelValues(r))
	}
	return testutil.ToFloat64(a.sent), testutil.ToFloat64(a.failed), dropped
}

func TestAnnotationsReachTheOnCallDashboard(t *testing.T) {
	g := grafanatest.New(t)
	a, reg := newAnnotator(t, g, grafanatest.Token, 10)
	a.Add(decision("openssl-3.0.15", "no_go", "error_delta failed: canary 2.6% against baseline 0.3%"))
	a.Add(decision("kernel-6.1.119", "go", "all 5 checks passed"))
	a.Stop(context.Background())

	got := g.Annotations()
	if len(got) != 2 {
		t.Fatalf("%d annotations, want 2", len(got))
	}
	first := got[0]
	wantTags := []string{"patchgate", "service:checkout", "patch_id:openssl-3.0.15", "stage:canary", "verdict:no_go"}
	if first.DashboardUID != "pg-oncall" || !slices.Equal(first.Tags, wantTags) ||
		first.Text != "error_delta failed: canary 2.6% against baseline 0.3%" || first.Time != evaluatedAt.UnixMilli() {
		t.Errorf("annotation %+v", first)
	}
	sent, failed, dropped := counts(a)
	if sent != 2 || failed != 0 || dropped[DropQueueFull]+dropped[DropUnavailable]+dropped[DropRejected]+dropped[DropShutdown] != 0 {
		t.Errorf("sent %v, failed %v, dropped %v", sent, failed, dropped)
	}
	if n, err := testutil.GatherAndCount(reg, "patchgate_annotations_sent_total", "patchgate_annotations_failed_total",
		"patchgate_annotations_dropped_total", "patchgate_annotations_queued"); err != nil || n != 7 {
		t.Errorf("%d series registered (%v), want 7", n, err)
	}
}

func TestAnnotatorRetries(t *testing.T) {
	g := grafanatest.New(t)
	a, _ := newAnnotator(t, g, grafanatest.Token, 10)
	g.FailNext(2, 503)
	g.FailNext(1, 429)
	a.Add(decision("p-1", "wait", "min_traffic: 400 of 2,000 requests"))
	a.Stop(context.Background())
	if n := len(g.Annotations()); n != 1 {
		t.Fatalf("%d annotations, want 1", n)
	}
	if sent, failed, _ := counts(a); sent != 1 || failed != 3 {
		t.Errorf("sent %v, failed attempts %v, want 1 and 3", sent, failed)
	}
}

func TestAnnotatorDropsWhenGrafanaStaysDown(t *testing.T) {
	g := grafanatest.New(t)
	a, _ := newAnnotator(t, g, grafanatest.Token, 10)
	g.SetDown(true)
	for _, p := range []string{"p-1", "p-2"} {
		if !a.Add(decision(p, "no_go", "reason")) {
			t.Fatal("Add refused with room in the queue")
		}
	}
	a.Stop(context.Background())
	sent, failed, dropped := counts(a)
	if sent != 0 || failed != 8 || dropped[DropUnavailable] != 2 {
		t.Errorf("sent %v, failed attempts %v, dropped %v; want 0, 8 (4 attempts each), 2 unavailable", sent, failed, dropped)
	}
}

func TestAnnotatorDropsWhatGrafanaRefuses(t *testing.T) {
	g := grafanatest.New(t)
	a, _ := newAnnotator(t, g, "revoked-token", 10)
	a.Add(decision("p-1", "go", "all checks passed"))
	a.Stop(context.Background())
	sent, failed, dropped := counts(a)
	if sent != 0 || failed != 1 || dropped[DropRejected] != 1 {
		t.Errorf("sent %v, failed %v, dropped %v; want a rejected annotation tried once", sent, failed, dropped)
	}
	if n := len(g.Requests()); n != 1 {
		t.Errorf("%d requests: a 401 is not retried", n)
	}
}

// waitForRequests waits until the server has received n requests.
func waitForRequests(t *testing.T, g *grafanatest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(g.Requests()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("Grafana received %d requests, want %d", len(g.Requests()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAnnotatorNeverBlocks(t *testing.T) {
	g := grafanatest.New(t)
	g.Hang()
	a, _ := newAnnotator(t, g, grafanatest.Token, 2)
	// The worker takes the first annotation and waits on Grafana.
	a.Add(decision("p-1", "go", "r"))
	waitForRequests(t, g, 1)
	// Two fill the queue; the next ones are dropped, and Add returns
	// at once all the same.
	for i, want := range []bool{true, true, false, false} {
		if got := a.Add(decision("p-x", "go", "r")); got != want {
			t.Errorf("Add %d while Grafana hangs: %v, want %v", i+2, got, want)
		}
	}
	g.Release()
	a.Stop(context.Background())
	sent, _, dropped := counts(a)
	if sent != 3 || dropped[DropQueueFull] != 2 {
		t.Errorf("sent %v, dropped %v; want 3 sent, 2 dropped with the queue full", sent, dropped)
	}
}

func TestAnnotatorStopGivesUpWhenTimeRunsOut(t *testing.T) {
	g := grafanatest.New(t)
	g.Hang()
	a, _ := newAnnotator(t, g, grafanatest.Token, 10)
	a.Add(decision("p-1", "go", "r"))
	a.Add(decision("p-2", "go", "r"))
	waitForRequests(t, g, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a.Stop(ctx) // returns although Grafana still hangs
	if a.Add(decision("p-3", "go", "r")) {
		t.Error("Add after Stop queued an annotation")
	}
	sent, _, dropped := counts(a)
	if sent != 0 || dropped[DropShutdown] != 3 {
		t.Errorf("sent %v, dropped %v; want 3 dropped at shutdown", sent, dropped)
	}
}
