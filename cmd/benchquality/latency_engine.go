package main

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
)

// latencyPolicy is the configuration of the latency families: the
// latency_delta check alone, with its defaults (margin 1pp, α = 0.05,
// group-sequential over max_wait 60m = 60 looks), on a 500ms boundary of the
// histogram. Each stage's buckets carry its own stage_id label, selected
// through the patch id.
const latencyPolicy = `
source: {type: embedded}
services:
  - name: bench
    sli:
      errors: sum(rate(http_requests_total{service="bench",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="bench"}[{{.window}}]))
      canary: '{track="canary",stage_id="{{.patch_id}}"}'
      baseline: '{track="baseline",stage_id="{{.patch_id}}"}'
    slo: {objective: 99}
    checks:
      latency_delta:
        histogram: http_request_duration_seconds
        selector: '{service="bench"}'
        threshold: 0.5
    stages:
      - {name: canary, max_wait: 60m}
`

// loadLatencyPolicy parses the latency policy and returns it with its
// latency_delta check, the only sequential check of the stage.
func loadLatencyPolicy() (*config.Config, config.LatencyDelta, error) {
	cfg, checks, err := parseBenchPolicy("benchquality-latency.yaml", latencyPolicy)
	if err != nil {
		return nil, config.LatencyDelta{}, err
	}
	ld := checks.LatencyDelta
	switch {
	case ld == nil:
		return nil, config.LatencyDelta{}, fmt.Errorf("the latency policy has no latency_delta check")
	case checks.ErrorDelta != nil:
		return nil, config.LatencyDelta{}, fmt.Errorf("the latency policy has an error_delta check too, which would split latency_delta's α")
	case ld.Threshold != latencyThreshold:
		return nil, config.LatencyDelta{}, fmt.Errorf("the latency policy's threshold is %v, the simulation's %v", ld.Threshold, latencyThreshold)
	}
	return cfg, *ld, nil
}

// latencyEngineCheck writes each sampled stage's bucket counts as a
// Prometheus classic histogram into an embedded TSDB, asks a gate.Engine
// every minute and compares its latency_delta verdict at every look with
// Evaluate's on the same minutes (slow requests in the place of errors),
// and the requests and slow requests it read with the simulated ones,
// until the stage is decided.
func latencyEngineCheck(ctx context.Context, dir string, cfg *config.Config, ld config.LatencyDelta, sample []*latencyStage) (engineReport, error) {
	var samples []metricsource.Sample
	ids := make([]string, len(sample))
	for i, s := range sample {
		samples = append(samples, histogram(s)...)
		ids[i] = latencyStageID(s)
	}
	test := latencyDeltaTest(ld, horizon)
	return askEveryMinute(ctx, dir, cfg, samples, ids, "latency_delta", func(rep *engineReport, i, k int, c gate.CheckResult) bool {
		s := sample[i]
		want := test.Evaluate(s.minutes[:k], k)
		if got, exp := c.Verdict, checkVerdict(want.Outcome); got != exp {
			rep.mismatches = append(rep.mismatches, fmt.Sprintf("latency %s look %d: engine %s (%s), Evaluate %s", s, k, got, c.Sentence, want.Outcome))
			return false
		}
		if m := countsDiffer(c.Details, want.CanaryTotal, want.CanaryErrors, want.BaselineTotal, want.BaselineErrors); m != "" {
			rep.mismatches = append(rep.mismatches, fmt.Sprintf("latency %s look %d: %s", s, k, m))
			return false
		}
		return true
	})
}

// countsDiffer says which count the engine read differs from the
// simulation's, or "" when none does.
func countsDiffer(details map[string]float64, canary, canarySlow, baseline, baselineSlow float64) string {
	for _, n := range []struct {
		key  string
		want float64
	}{{"canary_total", canary}, {"canary_slow", canarySlow}, {"baseline_total", baseline}, {"baseline_slow", baselineSlow}} {
		if got, ok := details[n.key]; !ok || math.Abs(got-n.want) > 1e-6*math.Max(1, n.want) {
			return fmt.Sprintf("engine read %s = %v, simulated %v", n.key, got, n.want)
		}
	}
	return ""
}

func latencyStageID(s *latencyStage) string {
	return fmt.Sprintf("latency-%s-%d-%d", s.family, s.seed, s.index)
}

// histogram turns a stage's per-minute bucket counts into
// http_request_duration_seconds_bucket counters (cumulative over le, per
// track) scraped every 15 s from the start of the window, each minute's
// requests spread evenly over its four scrapes, as counters() does for
// the error families: increase(...[1m]) at the end of minute m then gives
// minute m's counts exactly.
func histogram(s *latencyStage) []metricsource.Sample {
	id := latencyStageID(s)
	arms := []struct {
		track   string
		minutes [][]float64
	}{{"canary", s.canary}, {"baseline", s.baseline}}
	les := make([]string, 0, len(latencyBounds)+1)
	for _, b := range latencyBounds {
		les = append(les, strconv.FormatFloat(b, 'g', -1, 64))
	}
	les = append(les, "+Inf")
	out := make([]metricsource.Sample, 0, len(arms)*len(les)*(4*horizon+1))
	for _, a := range arms {
		for b, le := range les {
			labels := map[string]string{"__name__": "http_request_duration_seconds_bucket", "service": "bench", "stage_id": id, "track": a.track, "le": le}
			v := float64(counterBase)
			out = append(out, metricsource.Sample{Labels: labels, T: engineStart, V: v})
			for i, m := range a.minutes {
				var cum float64
				for _, n := range m[:b+1] {
					cum += n
				}
				step := cum / 4
				for q := 1; q <= 4; q++ {
					v += step
					t := engineStart.Add(time.Duration(i)*time.Minute + time.Duration(q)*15*time.Second)
					out = append(out, metricsource.Sample{Labels: labels, T: t, V: v})
				}
			}
		}
	}
	return out
}

func (s *latencyStage) String() string { return s.stage.String() }
