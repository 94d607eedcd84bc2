package gate

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
)

const latencyPolicy = `
source: {type: embedded}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 95}
    checks:
      latency_delta:
        histogram: http_request_duration_seconds
        selector: '{service="checkout"}'
        threshold: THRESHOLD
        margin_pp: 1
    stages:
      - {name: canary, max_wait: 20m}
`

func latencyPolicyAt(threshold string) string {
	return strings.Replace(latencyPolicy, "THRESHOLD", threshold, 1)
}

// latencyArm is one track's histogram: requests per second and the
// cumulative share of requests at or below each boundary, written as exact
// counter increments every 15 seconds from `from` to `to` minutes after t0.
type latencyArm struct {
	track    string
	rps      float64
	shares   map[string]float64 // le → cumulative share; "+Inf" is 1
	from, to int
}

func healthyShares(slowAbove500ms float64) map[string]float64 {
	return map[string]float64{"0.1": 0.5, "0.25": 0.8, "0.5": 1 - slowAbove500ms, "1": 1 - slowAbove500ms/4, "+Inf": 1}
}

func (f *fixture) writeHistogram(t testing.TB, arms ...latencyArm) {
	t.Helper()
	if err := f.src.Append(context.Background(), histogramSamples(arms...)); err != nil {
		t.Fatal(err)
	}
}

func histogramSamples(arms ...latencyArm) []metricsource.Sample {
	var samples []metricsource.Sample
	for _, a := range arms {
		n := 0.0
		for ts := t0.Add(time.Duration(a.from) * time.Minute); !ts.After(t0.Add(time.Duration(a.to) * time.Minute)); ts = ts.Add(15 * time.Second) {
			n += a.rps * 15
			for le, share := range a.shares {
				samples = append(samples, metricsource.Sample{
					Labels: map[string]string{"__name__": "http_request_duration_seconds_bucket", "service": "checkout", "track": a.track, "le": le},
					T:      ts, V: math.Round(n * share),
				})
			}
		}
	}
	return samples
}

func TestLatencyDelta(t *testing.T) {
	// 40 req/s: 2,400 requests a minute in each arm.
	cases := []struct {
		name      string
		threshold string
		arms      []latencyArm
		at        int
		want      CheckVerdict
		missing   bool
		sentence  []string
		// canary and baseline requests and slow requests the check must report.
		counts [4]float64
	}{
		{
			name: "healthy canary passes", threshold: "0.5",
			arms: []latencyArm{{"canary", 40, healthyShares(0.01), -5, 10}, {"baseline", 40, healthyShares(0.01), -5, 10}},
			at:   10, want: Pass,
			sentence: []string{"within the 1.00pp margin, p50/p95/p99 canary ", " against baseline "},
		},
		{
			name: "slow canary fails with both arms' percentiles", threshold: "0.5",
			arms: []latencyArm{{"canary", 40, healthyShares(0.05), -5, 10}, {"baseline", 40, healthyShares(0.01), -5, 10}},
			at:   10, want: Fail,
			sentence: []string{"latency regression beyond the 1.00pp margin", "(5.000%)", "(1.000%)", "p50/p95/p99 canary 0.1/0.5/1 against baseline 0.1/0.447/0.5 (histogram_quantile over the window)", "decided at look 3"},
			counts:   [4]float64{3 * 2400, 3 * 120, 3 * 2400, 3 * 24},
		},
		{
			name: "a threshold that is no bucket boundary waits naming the boundaries", threshold: "0.3",
			arms: []latencyArm{{"canary", 40, healthyShares(0.01), -5, 10}, {"baseline", 40, healthyShares(0.01), -5, 10}},
			at:   10, want: Inconclusive, missing: true,
			sentence: []string{"the threshold 0.3 is not a bucket boundary", "0.1, 0.25, 0.5, 1, +Inf"},
		},
		{
			name: "no histogram waits", threshold: "0.5",
			at: 10, want: Inconclusive, missing: true,
			sentence: []string{"no http_request_duration_seconds_bucket series for the canary", "native histograms are not supported yet"},
		},
		{
			name: "a canary without traffic waits", threshold: "0.5",
			arms: []latencyArm{{"canary", 0, healthyShares(0.01), -5, 10}, {"baseline", 40, healthyShares(0.01), -5, 10}},
			at:   10, want: Inconclusive, missing: true,
			sentence: []string{"no minute yet in which both canary and baseline served"},
		},
		{
			name: "a missing bucket in the latest minute waits", threshold: "0.5",
			arms: []latencyArm{
				{"canary", 40, healthyShares(0.01), -5, 1},
				{"canary", 40, map[string]float64{"0.1": 0.5, "+Inf": 1}, 2, 3},
				{"baseline", 40, healthyShares(0.01), -5, 10}},
			at: 3, want: Inconclusive, missing: true,
			sentence: []string{"the latest minute's buckets cannot be used (canary: a bucket is missing)"},
		},
		{
			name: "a decision reached stays when a later minute breaks", threshold: "0.5",
			arms: []latencyArm{
				{"canary", 40, healthyShares(0.01), -5, 4},
				{"canary", 40, map[string]float64{"0.1": 0.5, "+Inf": 1}, 5, 10},
				{"baseline", 40, healthyShares(0.01), -5, 10}},
			at: 6, want: Pass,
			sentence: []string{"decided at look 3", "left out: minute 6 (canary: a bucket is missing)"},
			counts:   [4]float64{3 * 2400, 3 * 24, 3 * 2400, 3 * 24},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.writeHistogram(t, tc.arms...)
			e := f.engine(t, nil, t0.Add(time.Duration(tc.at)*time.Minute), latencyPolicyAt(tc.threshold))
			d, err := e.Decide(context.Background(), ask("canary"))
			if err != nil {
				t.Fatal(err)
			}
			c := checkNamed(d, "latency_delta")
			if c.Verdict != tc.want || c.missingData != tc.missing {
				t.Fatalf("latency_delta = %s (missing data %v): %s; want %s (missing data %v)", c.Verdict, c.missingData, c.Sentence, tc.want, tc.missing)
			}
			if tc.want == Pass && d.Decision != Go || tc.want == Fail && d.Decision != NoGo || tc.want == Inconclusive && d.Decision != Wait {
				t.Errorf("decision %s for a check that says %s", d.Decision, tc.want)
			}
			for _, s := range tc.sentence {
				if !strings.Contains(c.Sentence, s) {
					t.Errorf("sentence %q does not say %q", c.Sentence, s)
				}
			}
			if len(c.Queries) != 2 || !strings.Contains(c.Queries[0], `sum by (le) (increase(http_request_duration_seconds_bucket{service="checkout",track="canary"}[1m]))`) {
				t.Errorf("queries = %q", c.Queries)
			}
			if tc.counts != [4]float64{} {
				got := [4]float64{c.Details["canary_total"], c.Details["canary_slow"], c.Details["baseline_total"], c.Details["baseline_slow"]}
				if got != tc.counts {
					t.Errorf("counts (canary requests, slow, baseline requests, slow) = %v, want %v as written", got, tc.counts)
				}
			}
		})
	}
}

func TestBucketQuantile(t *testing.T) {
	b := map[float64]float64{0.1: 50, 0.25: 80, 0.5: 99, 1: 100, math.Inf(1): 100}
	for _, tc := range []struct{ q, want float64 }{
		{0.5, 0.1}, {0.9, 0.25 + 0.25*10/19.0}, {0.995, 0.5 + 0.5*0.5}, {1, 1},
	} {
		if got := bucketQuantile(tc.q, b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("q=%v: got %v, want %v", tc.q, got, tc.want)
		}
	}
	for _, b := range []map[float64]float64{{math.Inf(1): 5}, {0.1: 1, 1: 2}, {0.1: 0, math.Inf(1): 0}} {
		if got := bucketQuantile(0.5, b); !math.IsNaN(got) {
			t.Errorf("%v: got %v, want NaN", b, got)
		}
	}
}

// TestSequentialChecksSplitAlpha: error_delta and latency_delta on one
// stage each run at half the configured α, and say so.
func TestSequentialChecksSplitAlpha(t *testing.T) {
	f := newFixture(t)
	f.write(t, arm{"canary", 40, 0.005, -5, 10, false}, arm{"baseline", 40, 0.005, -5, 10, false})
	f.writeHistogram(t, latencyArm{"canary", 40, healthyShares(0.01), -5, 10}, latencyArm{"baseline", 40, healthyShares(0.01), -5, 10})
	policy := strings.Replace(latencyPolicyAt("0.5"), "    checks:\n", "    checks:\n      error_delta: {margin_pp: 0.5, alpha: 0.05}\n", 1)
	e := f.engine(t, nil, t0.Add(10*time.Minute), policy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"error_delta", "latency_delta"} {
		c := checkNamed(d, name)
		if c.Details["alpha"] != 0.025 {
			t.Errorf("%s ran at α=%v, want 0.05/2 (%s)", name, c.Details["alpha"], c.Sentence)
		}
	}
	if s := checkNamed(d, "latency_delta").Sentence; !strings.Contains(s, "split over its 2 sequential checks") {
		t.Errorf("latency_delta does not state the split: %s", s)
	}
}
