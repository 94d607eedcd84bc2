package metricsource

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
)

// stubSource answers every query with err (nil: an empty result).
type stubSource struct {
	err    error
	ready  int
	closed int
}

func (s *stubSource) Query(context.Context, string, time.Time) (model.Vector, error) {
	return model.Vector{}, s.err
}

func (s *stubSource) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (model.Matrix, error) {
	return model.Matrix{}, s.err
}

func (s *stubSource) Ready(context.Context) error { s.ready++; return nil }

func (s *stubSource) Close() error { s.closed++; return nil }

func TestInstrumented(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		err          error
		queries      int
		ranges       int
		wantCounters string
	}{
		{
			name: "successes", queries: 3, ranges: 1,
			wantCounters: `
# HELP patchgate_prometheus_queries_total PromQL queries sent to the metric source, by kind (query, query_range).
# TYPE patchgate_prometheus_queries_total counter
patchgate_prometheus_queries_total{kind="query"} 3
patchgate_prometheus_queries_total{kind="query_range"} 1
# HELP patchgate_prometheus_query_errors_total PromQL queries that returned an error, by kind (query, query_range).
# TYPE patchgate_prometheus_query_errors_total counter
patchgate_prometheus_query_errors_total{kind="query"} 0
patchgate_prometheus_query_errors_total{kind="query_range"} 0
`,
		},
		{
			name: "errors", err: errors.New("boom"), queries: 1, ranges: 2,
			wantCounters: `
# HELP patchgate_prometheus_queries_total PromQL queries sent to the metric source, by kind (query, query_range).
# TYPE patchgate_prometheus_queries_total counter
patchgate_prometheus_queries_total{kind="query"} 1
patchgate_prometheus_queries_total{kind="query_range"} 2
# HELP patchgate_prometheus_query_errors_total PromQL queries that returned an error, by kind (query, query_range).
# TYPE patchgate_prometheus_query_errors_total counter
patchgate_prometheus_query_errors_total{kind="query"} 1
patchgate_prometheus_query_errors_total{kind="query_range"} 2
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			stub := &stubSource{err: tt.err}
			src := Instrumented(stub, reg)
			for range tt.queries {
				if _, err := src.Query(ctx, "up", t0); !errors.Is(err, tt.err) {
					t.Fatalf("Query error = %v, want %v", err, tt.err)
				}
			}
			for range tt.ranges {
				if _, err := src.QueryRange(ctx, "up", t0, t0, time.Second); !errors.Is(err, tt.err) {
					t.Fatalf("QueryRange error = %v, want %v", err, tt.err)
				}
			}
			if err := src.Ready(ctx); err != nil || stub.ready != 1 {
				t.Errorf("Ready did not pass through: %v, %d calls", err, stub.ready)
			}
			if err := src.Close(); err != nil || stub.closed != 1 {
				t.Errorf("Close did not pass through: %v, %d calls", err, stub.closed)
			}
			err := testutil.GatherAndCompare(reg, strings.NewReader(tt.wantCounters),
				"patchgate_prometheus_queries_total", "patchgate_prometheus_query_errors_total")
			if err != nil {
				t.Error(err)
			}
			if got := histogramCount(t, reg, KindQuery); got != uint64(tt.queries) {
				t.Errorf("query durations observed %d times, want %d", got, tt.queries)
			}
			if got := histogramCount(t, reg, KindQueryRange); got != uint64(tt.ranges) {
				t.Errorf("query_range durations observed %d times, want %d", got, tt.ranges)
			}
		})
	}
}

func histogramCount(t *testing.T, reg prometheus.Gatherer, kind string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "patchgate_prometheus_query_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no duration histogram for kind %q", kind)
	return 0
}

func TestInstrumentedSharesRegisterer(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := Instrumented(&stubSource{}, reg)
	b := Instrumented(&stubSource{}, reg) // a rebuilt source: no panic, same series
	for _, src := range []Source{a, b} {
		if _, err := src.Query(context.Background(), "up", t0); err != nil {
			t.Fatal(err)
		}
	}
	want := `
# HELP patchgate_prometheus_queries_total PromQL queries sent to the metric source, by kind (query, query_range).
# TYPE patchgate_prometheus_queries_total counter
patchgate_prometheus_queries_total{kind="query"} 2
patchgate_prometheus_queries_total{kind="query_range"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "patchgate_prometheus_queries_total"); err != nil {
		t.Error(err)
	}
}

func TestInstrumentedNilRegisterer(t *testing.T) {
	src := Instrumented(&stubSource{}, nil)
	if _, err := src.Query(context.Background(), "up", t0); err != nil {
		t.Fatal(err)
	}
}

func TestCounting(t *testing.T) {
	c := NewCounting(&stubSource{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			if i%2 == 0 {
				_, _ = c.Query(ctx, "a", t0)
			} else {
				_, _ = c.QueryRange(ctx, "b", t0, t0, time.Second)
			}
		})
	}
	wg.Wait()
	if got := c.Count(); got != 100 {
		t.Fatalf("Count = %d, want 100", got)
	}
	seen := map[string]int{}
	for _, q := range c.Queries() {
		seen[q]++
	}
	if seen["a"] != 50 || seen["b"] != 50 {
		t.Errorf("Queries = %v, want 50 of a and 50 of b", seen)
	}
	if err := c.Ready(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
	if c.Count() != 100 {
		t.Error("Ready was counted as a query")
	}
	c.Reset()
	if got := c.Count(); got != 0 {
		t.Errorf("Count after Reset = %d, want 0", got)
	}
}
