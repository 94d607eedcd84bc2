package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/metricsource"
)

// TestLatencyShortRun is the CI run of the latency families: 40 stages per
// family, one per family through the gate engine. It checks that the run
// completes, that the engine agreed, that the bookkeeping holds and that
// the section is whole, not what the figures are.
func TestLatencyShortRun(t *testing.T) {
	o, err := parseFlags([]string{"-short"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := simulateLatency(context.Background(), o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.engine.mismatches) > 0 || res.engine.stages != len(latencyFamilies()) || res.engine.looks < res.engine.stages {
		t.Errorf("engine cross-check: %d stages, %d looks, mismatches %q", res.engine.stages, res.engine.looks, res.engine.mismatches)
	}
	if want := len(latencyFamilies()) * o.stages * len(o.seeds); len(res.stages) != want {
		t.Fatalf("%d stages, want %d", len(res.stages), want)
	}
	var good, bad int
	for i, s := range res.stages {
		if s.bad {
			bad++
		} else {
			good++
		}
		for m := range horizon {
			ct, cs := totalAndSlow(s.canary[m])
			if got := s.minutes[m]; got.CanaryTotal != ct || got.CanaryErrors != cs {
				t.Fatalf("%s minute %d: minutes hold %v of %v canary requests slow, the buckets %v of %v", s, m+1, got.CanaryErrors, got.CanaryTotal, cs, ct)
			}
		}
		for j, d := range res.tally.decisions[i] {
			name := res.judges[j].name
			if d.verdict != gate.Go && d.verdict != gate.NoGo && d.verdict != gate.Wait {
				t.Fatalf("%s: %s answered %q", s, name, d.verdict)
			}
			if d.minute < 1 || d.minute > horizon || (d.verdict == gate.Wait && d.minute != horizon) {
				t.Fatalf("%s: %s answered %s at minute %d", s, name, d.verdict, d.minute)
			}
			if d.canary != s.canaryUpTo(d.minute) {
				t.Fatalf("%s: %s counted %v canary requests to minute %d, the stage had %v", s, name, d.canary, d.minute, s.canaryUpTo(d.minute))
			}
		}
	}
	if good == 0 || bad == 0 {
		t.Fatalf("%d good and %d bad stages: the truth must be mixed", good, bad)
	}

	var out bytes.Buffer
	if err := reportLatency(&out, o, res); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"## Latency families\n", "its latency_delta verdict matched stats.Test.Evaluate at every look",
		"false go ≤ 1%", "≤ 1.2× the fixed p99 threshold's"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, bad := range []string{"NaN", "Inf |", "**"} {
		if strings.Contains(text, bad) {
			t.Errorf("output holds %q:\n%s", bad, text)
		}
	}
	for _, f := range latencyFamilies() {
		if !strings.Contains(text, "#### latency "+f.name+"\n") {
			t.Errorf("no table for latency family %s", f.name)
		}
	}
	for _, j := range res.judges {
		if n := strings.Count(text, "\n| "+j.name+" |"); n != 2+len(latencyFamilies()) {
			t.Errorf("judge %q has %d rows, want %d", j.name, n, 2+len(latencyFamilies()))
		}
	}
	// The p99 threshold is the reference of the request ratio.
	if x := res.rows(all)[2]; x.judge != "p99 threshold at 10m" || x.vsThreshold.n == 0 || x.vsThreshold.value != 1 {
		t.Errorf("p99 threshold row %+v: want the reference of the request ratio", x)
	}
}

// TestLatencyDesign checks that a design's buckets hold the slow share it
// names, and that the fixed p99 limit separates a healthy canary from a
// regressed one on unlimited traffic.
func TestLatencyDesign(t *testing.T) {
	for _, tc := range []struct{ slow, sigma float64 }{{0.005, 0.5}, {0.02, 0.8}, {0.05, 1}, {0.07, 0.5}} {
		shares := bucketShares(tc.slow, tc.sigma)
		var sum float64
		for _, s := range shares {
			sum += s
		}
		_, slow := totalAndSlow(shares)
		if math.Abs(sum-1) > 1e-12 || math.Abs(slow-tc.slow) > 1e-9 {
			t.Errorf("slow %v, σ %v: buckets sum to %v with %v slow", tc.slow, tc.sigma, sum, slow)
		}
		d := latencyDesign{baselineP: tc.slow, limitP: tc.slow + 0.01, sigma: tc.sigma}
		healthy, regressed := bucketQuantile(0.99, shares), bucketQuantile(0.99, bucketShares(tc.slow+0.02, tc.sigma))
		if !(healthy <= d.limit() && d.limit() < regressed) {
			t.Errorf("slow %v, σ %v: p99 healthy %v, limit %v, regressed %v", tc.slow, tc.sigma, healthy, d.limit(), regressed)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		n := poisson(r, 500)
		var got float64
		for _, k := range multinomial(r, n, bucketShares(0.03, 0.7)) {
			if k < 0 || k != math.Trunc(k) {
				t.Fatalf("bucket count %v", k)
			}
			got += k
		}
		if got != n {
			t.Fatalf("multinomial spread %v of %v requests", got, n)
		}
	}
}

// TestBucketQuantileIsPrometheus checks the p99 the baselines judge by
// against Prometheus' own histogram_quantile over the same buckets written
// as the engine cross-check writes them.
func TestBucketQuantileIsPrometheus(t *testing.T) {
	ctx := context.Background()
	src, err := metricsource.NewEmbedded(metricsource.EmbeddedConfig{Dir: filepath.Join(t.TempDir(), "tsdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	res, err := simulateLatency(ctx, options{seeds: []uint64{7}, stages: 2, workers: 1}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.stages {
		if err := src.Append(ctx, histogram(s)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range res.stages {
		for _, m := range []int{1, 7, 30} {
			at := engineStart.Add(time.Duration(m) * time.Minute)
			for _, arm := range []struct {
				track   string
				buckets []float64
			}{{"canary", s.canary[m-1]}, {"baseline", s.baseline[m-1]}} {
				q := `histogram_quantile(0.99, sum by (le) (increase(http_request_duration_seconds_bucket{stage_id="` + latencyStageID(s) + `",track="` + arm.track + `"}[1m])))`
				v, err := src.Query(ctx, q, at)
				if err != nil {
					t.Fatal(err)
				}
				want := bucketQuantile(0.99, arm.buckets)
				if len(v) != 1 || math.Abs(float64(v[0].Value)-want) > 1e-9*math.Max(1, want) {
					t.Errorf("%s minute %d %s: Prometheus %v, bucketQuantile %v", s, m, arm.track, v, want)
				}
			}
		}
	}
}
