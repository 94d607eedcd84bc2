package backtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/testbed"
)

// benchStages is how many 60-minute stages one benchmark operation
// replays: spread over the data, each asked 60 times (a canary that stays
// undecided until max_wait).
const benchStages = 40

// benchWorkers is how many stages both benchmarks work on at once: the
// backtest command's default.
const benchWorkers = 4

// benchPrometheus starts a real Prometheus (Debian's) holding 12 hours of
// a baseline and an undecided canary.
func benchPrometheus(b *testing.B) (gate.Querier, []Stage) {
	from, to := t0.Add(-2*time.Hour), t0.Add(12*time.Hour)
	samples := testbed.Requests(
		testbed.Traffic{Service: "checkout", Track: "baseline", RPS: 1900, ErrorRatio: 0.005, From: from, To: to},
		testbed.Traffic{Service: "checkout", Track: "near", RPS: 0.1, ErrorRatio: 0.0075, From: from, To: to}, // never min_traffic
	)
	series := map[string]*promtest.Series{}
	for _, s := range samples {
		labels := maps.Clone(s.Labels)
		name := labels["__name__"]
		delete(labels, "__name__")
		key := fmt.Sprint(name, labels)
		if series[key] == nil {
			series[key] = &promtest.Series{Name: name, Labels: labels}
		}
		series[key].Samples = append(series[key].Samples, promtest.Point{T: s.T, V: s.V})
	}
	var all []promtest.Series
	for _, k := range slices.Sorted(maps.Keys(series)) {
		all = append(all, *series[k])
	}
	prom := promtest.Start(b, all)
	src, err := metricsource.NewHTTP(metricsource.HTTPConfig{URL: prom.URL, Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	var stages []Stage
	for i := range benchStages {
		stages = append(stages, Stage{Service: "checkout", PatchID: fmt.Sprintf("p-%d", i), Stage: "canary",
			StartedAt: t0.Add(time.Duration(i)*17*time.Minute + 7*time.Second), Params: map[string]string{"track": "near"}})
	}
	return src, stages
}

// BenchmarkBacktest replays benchStages stages of 60 minutes against a
// real Prometheus, benchWorkers stages at a time (the command's default);
// BenchmarkRawRangeQueries sends the same range queries straight to it,
// benchWorkers stages at a time with each stage's queries in parallel:
// their ratio is the backtest's overhead (docs/performance.md).
func BenchmarkBacktest(b *testing.B) {
	src, stages := benchPrometheus(b)
	policy := parsePolicy(b, strings.Replace(Policy, "max_wait: 20m", "max_wait: 60m", 1))
	b.ResetTimer()
	for b.Loop() {
		got, errs := Run(context.Background(), Config{Policy: policy, Source: src, Workers: benchWorkers}, stages)
		for i, err := range errs {
			if err != nil || got[i].Minute != 60 {
				b.Fatalf("stage %d: %v, minute %d (want the undecided canary to run to max_wait)", i, err, got[i].Minute)
			}
		}
	}
}

func BenchmarkRawRangeQueries(b *testing.B) {
	src, stages := benchPrometheus(b)
	policy := parsePolicy(b, strings.Replace(Policy, "max_wait: 20m", "max_wait: 60m", 1))
	// The queries one replay sends, recorded once per stage.
	type query struct {
		q          string
		start, end time.Time
	}
	var plans [][]query
	for _, s := range stages {
		rec := &recorder{Querier: src}
		if _, errs := Run(context.Background(), Config{Policy: policy, Source: rec, Workers: 1}, []Stage{s}); errs[0] != nil {
			b.Fatal(errs[0])
		}
		var plan []query
		for _, q := range rec.queries {
			plan = append(plan, query{q: q, start: s.StartedAt.Add(time.Minute), end: s.StartedAt.Add(60 * time.Minute)})
		}
		plans = append(plans, plan)
	}
	b.ResetTimer()
	for b.Loop() {
		next := make(chan []query)
		var workers sync.WaitGroup
		for range benchWorkers {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for plan := range next {
					var wg sync.WaitGroup
					for _, q := range plan {
						wg.Add(1)
						go func() {
							defer wg.Done()
							if _, err := src.QueryRange(context.Background(), q.q, q.start, q.end, time.Minute); err != nil {
								b.Error(err)
							}
						}()
					}
					wg.Wait()
				}
			}()
		}
		for _, plan := range plans {
			next <- plan
		}
		close(next)
		workers.Wait()
	}
}

type recorder struct {
	gate.Querier
	mu      sync.Mutex
	queries []string
}

func (r *recorder) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	r.mu.Lock()
	r.queries = append(r.queries, q)
	r.mu.Unlock()
	return r.Querier.QueryRange(ctx, q, start, end, step)
}
