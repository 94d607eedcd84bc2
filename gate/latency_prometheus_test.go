package gate

import (
	"context"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/promtest"
)

// TestNewChecksAgainstPrometheus runs latency_delta and a promql check
// against a real Prometheus holding backfilled histograms and gauges, and
// against the embedded engine over the same samples: both report the
// counts the test wrote, the same percentiles and the same verdicts.
func TestNewChecksAgainstPrometheus(t *testing.T) {
	samples := histogramSamples(
		latencyArm{"canary", 40, healthyShares(0.05), -5, 10},
		latencyArm{"baseline", 40, healthyShares(0.01), -5, 10},
	)
	samples = append(samples, seriesSamples(series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, constant(210e6))...)
	samples = append(samples, seriesSamples(series("container_memory_working_set_bytes", "baseline", "container", "app"), -5, 10, constant(200e6))...)
	srv := promtest.Start(t, toPromSeries(samples))
	t.Logf("real Prometheus at %s", srv.URL)
	httpSrc, err := metricsource.NewHTTP(metricsource.HTTPConfig{URL: srv.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer httpSrc.Close()

	policy := strings.Replace(latencyPolicyAt("0.5"), "    stages:", `      promql:
        - name: memory
          query: max(container_memory_working_set_bytes{container="app"})
          compare: baseline
          below: 1.2
    stages:`, 1)
	results := map[string]Decision{}
	for _, name := range []string{"embedded", "prometheus"} {
		f := newFixture(t)
		var src Querier = f.src
		if name == "prometheus" {
			src = httpSrc
		} else if err := f.src.Append(context.Background(), samples); err != nil {
			t.Fatal(err)
		}
		d, err := f.engine(t, src, t0.Add(10*time.Minute), policy).Decide(context.Background(), ask("canary"))
		if err != nil {
			t.Fatal(err)
		}
		results[name] = d
		if d.Decision != NoGo {
			t.Errorf("%s: decision %s, want no_go: %s", name, d.Decision, d.Reason)
		}
		lat := checkNamed(d, "latency_delta")
		// 40 req/s for 3 minutes (decided at look 3): 7,200 requests an
		// arm, 5% and 1% of them above 500ms.
		want := map[string]float64{"canary_total": 7200, "canary_slow": 360, "baseline_total": 7200, "baseline_slow": 72,
			"canary_p50": 0.1, "canary_p95": 0.5, "canary_p99": 1, "baseline_p50": 0.1, "baseline_p99": 0.5}
		for k, v := range want {
			if math.Abs(lat.Details[k]-v) > 1e-9 {
				t.Errorf("%s: latency_delta %s = %v, want %v as written", name, k, lat.Details[k], v)
			}
		}
		mem := checkNamed(d, "promql:memory")
		if mem.Verdict != Pass || mem.Observed == nil || math.Abs(*mem.Observed-1.05) > 1e-9 || mem.Details["failures"] != 0 {
			t.Errorf("%s: promql:memory = %s, observed %v: %s", name, mem.Verdict, mem.Observed, mem.Sentence)
		}
	}
	e, p := results["embedded"], results["prometheus"]
	for _, c := range e.Checks {
		pc := checkNamed(p, c.Name)
		if c.Verdict != pc.Verdict || !slices.Equal(c.Queries, pc.Queries) || !maps.EqualFunc(c.Details, pc.Details, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) }) {
			t.Errorf("%s differs:\nembedded   %s %v\nprometheus %s %v", c.Name, c.Verdict, c.Details, pc.Verdict, pc.Details)
		}
	}
}

// toPromSeries groups samples by label set, in time order, for backfilling.
func toPromSeries(samples []metricsource.Sample) []promtest.Series {
	var out []promtest.Series
	index := map[string]int{}
	for _, s := range samples {
		keys := slices.Sorted(maps.Keys(s.Labels))
		var key strings.Builder
		for _, k := range keys {
			key.WriteString(k + "\x00" + s.Labels[k] + "\x00")
		}
		i, ok := index[key.String()]
		if !ok {
			lbls := maps.Clone(s.Labels)
			delete(lbls, "__name__")
			i = len(out)
			index[key.String()] = i
			out = append(out, promtest.Series{Name: s.Labels["__name__"], Labels: lbls})
		}
		out[i].Samples = append(out[i].Samples, promtest.Point{T: s.T, V: s.V})
	}
	for i := range out {
		slices.SortFunc(out[i].Samples, func(a, b promtest.Point) int { return a.T.Compare(b.T) })
	}
	return out
}
