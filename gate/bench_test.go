package gate

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// recorder remembers the queries of one evaluation so the benchmark can
// replay them raw, as the baseline for the gate's overhead.
type recorder struct {
	Querier
	mu      sync.Mutex
	instant []string
	ranges  []string
}

func (r *recorder) Query(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	r.mu.Lock()
	r.instant = append(r.instant, q)
	r.mu.Unlock()
	return r.Querier.Query(ctx, q, ts)
}

func (r *recorder) QueryRange(ctx context.Context, q string, s, e time.Time, step time.Duration) (model.Matrix, error) {
	r.mu.Lock()
	r.ranges = append(r.ranges, q)
	r.mu.Unlock()
	return r.Querier.QueryRange(ctx, q, s, e, step)
}

func benchFixture(b *testing.B) *fixture {
	f := newFixture(b)
	f.write(b, arm{"canary", 100, 0.005, -60, 10, false}, arm{"baseline", 1900, 0.005, -60, 10, false})
	return f
}

// BenchmarkDecide is one full decision (every check, its queries, the
// audit write) against the embedded engine: each iteration is a new stage
// attempt, so nothing is cached.
func BenchmarkDecide(b *testing.B) {
	f := benchFixture(b)
	e := f.engine(b, nil, t0.Add(10*time.Minute), testPolicy)
	req := ask("canary")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req.Params = map[string]string{ParamStageStartedAt: t0.Format(time.RFC3339), ParamAttempt: strconv.Itoa(i)}
		if _, err := e.Decide(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawQueries runs the same queries as one decision, sequentially
// and without the gate: the baseline BenchmarkDecide is compared with.
func BenchmarkRawQueries(b *testing.B) {
	f := benchFixture(b)
	rec := &recorder{Querier: f.src}
	e := f.engine(b, rec, t0.Add(10*time.Minute), testPolicy)
	if _, err := e.Decide(context.Background(), ask("canary")); err != nil {
		b.Fatal(err)
	}
	at := t0.Add(10 * time.Minute)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		for _, q := range rec.instant {
			if _, err := f.src.Query(ctx, q, at); err != nil {
				b.Fatal(err)
			}
		}
		for _, q := range rec.ranges {
			if _, err := f.src.QueryRange(ctx, q, t0.Add(time.Minute), at, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecideCached is an ask answered from the current minute's look.
func BenchmarkDecideCached(b *testing.B) {
	f := benchFixture(b)
	e := f.engine(b, nil, t0.Add(10*time.Minute), testPolicy)
	req := ask("canary")
	if _, err := e.Decide(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Decide(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
