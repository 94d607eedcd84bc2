package testbed

import (
	"math"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

func TestRequests(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	samples := Requests(
		Traffic{Service: "checkout", Track: "canary", RPS: 10, ErrorRatio: 0.1, From: t0, To: t0.Add(time.Minute),
			Labels: map[string]string{"host": "h1"}},
		Traffic{Service: "checkout", Track: "baseline", RPS: 1, From: t0, To: t0.Add(15 * time.Second), NaN: true},
	)
	// Five canary steps (0 s to 60 s) and two baseline steps, two codes each.
	if len(samples) != 2*(5+2) {
		t.Fatalf("%d samples, want 14", len(samples))
	}
	last := map[string]float64{}
	for _, s := range samples[:10] {
		if s.Labels["__name__"] != "http_requests_total" || s.Labels["host"] != "h1" || s.Labels["track"] != "canary" {
			t.Fatalf("labels %v", s.Labels)
		}
		last[s.Labels["code"]] = s.V
	}
	// 10 requests a second for 5 steps of 15 s: 750 requests, a tenth failing.
	if math.Abs(last["200"]-675) > 1e-9 || math.Abs(last["500"]-75) > 1e-9 {
		t.Errorf("last canary counters %v, want 200: 675, 500: 75", last)
	}
	if !samples[10].T.Equal(t0) || !math.IsNaN(samples[10].V) {
		t.Errorf("first baseline sample %v at %v, want NaN at %v", samples[10].V, samples[10].T, t0)
	}
}

func TestSourceAndStore(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	src := Source(t, Requests(Traffic{Service: "checkout", Track: "canary", RPS: 2, From: t0, To: t0.Add(5 * time.Minute)})...)
	v, err := src.Query(t.Context(), `sum(increase(http_requests_total{code="200"}[5m]))`, t0.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || math.Abs(float64(v[0].Value)-600) > 60 {
		t.Errorf("requests in 5 minutes: %v, want about 600", v)
	}
	if _, err := Store(t).ListEvents(t.Context(), store.EventFilter{}); err != nil {
		t.Errorf("the store does not answer: %v", err)
	}
}
