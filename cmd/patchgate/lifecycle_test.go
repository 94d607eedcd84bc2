package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/testenv"
)

const replicaToken = "replica-events-token-0123456789"

// replicaConfig is a gate whose store is at driver/dsn; its metric source
// is never asked.
func replicaConfig(t *testing.T, driver, dsn string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("replica.yaml", fmt.Appendf(nil, `
source: {type: prometheus, url: "http://127.0.0.1:9"}
store: {driver: %s, dsn: %q}
tokens: [{name: ci, token: %q, scopes: [events, gate]}]
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
    slo: {objective: 99.9}
    checks: {burn_rate: {}}
    stages: [{name: canary}, {name: 100pct}]
`, driver, dsn, replicaToken))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestLifecycleMetricsAcrossReplicas runs two gates on one store, posts
// events to both, retries some on the other replica and reports one
// rollback from two tools, then scrapes both: each event counts once, and
// both replicas export the same numbers.
func TestLifecycleMetricsAcrossReplicas(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		replicas(t, "sqlite", filepath.Join(t.TempDir(), "shared.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		replicas(t, "postgres", testenv.Postgres(t))
	})
}

func replicas(t *testing.T, driver, dsn string) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var urls []string
	for range 2 {
		a, err := newApp(t.Context(), replicaConfig(t, driver, dsn), appOptions{now: clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		ts := httptest.NewServer(a.Handler())
		t.Cleanup(ts.Close)
		urls = append(urls, ts.URL)
	}
	a, b := urls[0], urls[1]
	at := func(h float64) string { return now.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339) }
	posts := []struct {
		replica, key, body string
		status             int
	}{
		{a, "d-1", `{"type":"discovered","severity":"critical","time":"` + at(-50) + `","labels":{"disclosed_at":"` + at(-52) + `"}}`, http.StatusCreated},
		{b, "d-1", `{"type":"discovered","severity":"critical","time":"` + at(-50) + `","labels":{"disclosed_at":"` + at(-52) + `"}}`, http.StatusOK},
		{a, "s-1", `{"type":"stage_started","service":"checkout","cluster":"eu-west-1","stage":"canary","attempt":1,"time":"` + at(-3) + `"}`, http.StatusCreated},
		{a, "i-1", `{"type":"incident","service":"checkout","cluster":"eu-west-1","time":"` + at(-2.75) + `"}`, http.StatusCreated},
		{b, "i-1", `{"type":"incident","service":"checkout","cluster":"eu-west-1","time":"` + at(-2.75) + `"}`, http.StatusOK},
		// Flagger and the CI pipeline both report the rollback, with keys
		// of their own, to different replicas; Flagger retries.
		{a, "flagger-rb", `{"type":"rolled_back","service":"checkout","cluster":"eu-west-1","stage":"canary","attempt":1,"time":"` + at(-2.5) + `"}`, http.StatusCreated},
		{b, "flagger-rb", `{"type":"rolled_back","service":"checkout","cluster":"eu-west-1","stage":"canary","attempt":1,"time":"` + at(-2.5) + `"}`, http.StatusOK},
		{b, "ci-rb", `{"type":"rolled_back","service":"checkout","cluster":"eu-west-1","stage":"canary","attempt":1,"time":"` + at(-2.4) + `"}`, http.StatusCreated},
		{a, "t-1", `{"type":"tested","service":"checkout","time":"` + at(-20) + `"}`, http.StatusCreated},
		{b, "s-2", `{"type":"stage_started","service":"checkout","cluster":"eu-west-1","stage":"canary","attempt":2,"time":"` + at(-2) + `"}`, http.StatusCreated},
		{a, "dep-1", `{"type":"deployed","service":"checkout","cluster":"eu-west-1","time":"` + at(-1) + `"}`, http.StatusCreated},
		{b, "dep-1", `{"type":"deployed","service":"checkout","cluster":"eu-west-1","time":"` + at(-1) + `"}`, http.StatusOK},
	}
	for _, p := range posts {
		req, err := http.NewRequest(http.MethodPost, p.replica+"/v1/patches/openssl-3.0.15/events", strings.NewReader(p.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+replicaToken)
		req.Header.Set("Idempotency-Key", p.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != p.status {
			t.Fatalf("POST %s (key %s): %d, want %d", p.body, p.key, resp.StatusCode, p.status)
		}
	}

	want := map[string]float64{
		`patchgate_patch_incidents_total{cluster="eu-west-1",service="checkout",severity="critical"}`:                           1,
		`patchgate_patch_rollbacks_total{cluster="eu-west-1",service="checkout"}`:                                               1,
		`patchgate_patch_time_to_rollback_seconds_count{cluster="eu-west-1",service="checkout",severity="critical"}`:            1,
		`patchgate_patch_time_to_rollback_seconds_sum{cluster="eu-west-1",service="checkout",severity="critical"}`:              1800,
		`patchgate_patch_time_to_discover_seconds_sum{severity="critical"}`:                                                     2 * 3600,
		`patchgate_patch_time_to_test_seconds_sum{service="checkout",severity="critical"}`:                                      30 * 3600,
		`patchgate_patch_time_to_deploy_seconds_count{cluster="eu-west-1",service="checkout",severity="critical"}`:              1,
		`patchgate_patch_time_to_deploy_seconds_sum{cluster="eu-west-1",service="checkout",severity="critical"}`:                49 * 3600,
		`patchgate_patch_time_to_deploy_seconds_bucket{cluster="eu-west-1",le="172800",service="checkout",severity="critical"}`: 0,
		`patchgate_patch_time_to_deploy_seconds_bucket{cluster="eu-west-1",le="259200",service="checkout",severity="critical"}`: 1,
		// Deployed in every cluster its rollout touched: no longer open.
		`patchgate_vulnerability_exposure_window_seconds{severity="critical"}`: 0,
	}
	// One ask, so that the gate's own series exist too.
	req, err := http.NewRequest(http.MethodPost, a+"/v1/gate", strings.NewReader(`{"service":"checkout","patch_id":"openssl-3.0.15","stage":"canary"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	for _, u := range urls {
		got := scrape(t, u)
		for series, v := range want {
			if g, ok := got[series]; !ok || g != v {
				t.Errorf("%s: %s = %v (present %t), want %v", u, series, g, ok, v)
			}
		}
	}

	// Every series the catalog says patchgate exports is on /metrics (the
	// canary gauges need an error_delta or latency_delta observation, which
	// a gate without a metric source cannot make: internal/lifecycle tests
	// them; so does it
	// the rollout gauges of the patch alerts, which need a rollout that
	// stays rolled back or goes on past a no_go).
	names := map[string]bool{}
	for series := range scrape(t, a) {
		name, _, _ := strings.Cut(series, "{")
		names[name] = true
	}
	for _, m := range lifecycle.Metrics() {
		switch m.Name {
		case lifecycle.CanaryErrorDelta, lifecycle.CanaryLatencyDelta, lifecycle.CanaryLatencyP99, lifecycle.RolledBackAt, lifecycle.ProgressAfterNoGo, lifecycle.OpenCVEExposure:
			continue
		}
		if !names[m.Series()[len(m.Series())-1]] {
			t.Errorf("%s (%s) is not on /metrics", m.Name, m.Exporter)
		}
	}
}

// scrape reads /metrics into series → value.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			ls := model.LabelSet{}
			for _, lp := range m.GetLabel() {
				if lp.GetValue() != "" {
					ls[model.LabelName(lp.GetName())] = model.LabelValue(lp.GetValue())
				}
			}
			key := func(suffix string, extra model.LabelSet) string {
				all := ls.Merge(extra)
				names := make([]string, 0, len(all))
				for n := range all {
					names = append(names, string(n))
				}
				slices.Sort(names)
				pairs := make([]string, len(names))
				for i, n := range names {
					pairs[i] = fmt.Sprintf("%s=%q", n, all[model.LabelName(n)])
				}
				return name + suffix + "{" + strings.Join(pairs, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key("", nil)] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key("", nil)] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				h := m.GetHistogram()
				out[key("_count", nil)] = float64(h.GetSampleCount())
				out[key("_sum", nil)] = h.GetSampleSum()
				for _, b := range h.GetBucket() {
					out[key("_bucket", model.LabelSet{"le": model.LabelValue(fmt.Sprint(b.GetUpperBound()))})] = float64(b.GetCumulativeCount())
				}
			}
		}
	}
	return out
}
