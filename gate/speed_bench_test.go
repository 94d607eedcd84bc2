package gate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/store"
)

// The speed benchmarks run one full decision (every check of testPolicy,
// its queries and the audit write) against a service of 1,000 series:
// 500 hosts × code 200/500, 50 of them canary, scraped every 15 s for 70
// minutes. Run them with `make bench` (benchstat-friendly, -count 6).
const (
	speedHosts       = 500
	speedCanaryHosts = 50
)

// speedT0 is the stage start; the data runs from an hour before to ten
// minutes after it, and the decision is taken at its tenth minute.
var speedT0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// speedSeries returns the service's counters: canary hosts serve 2 req/s
// each, baseline hosts 4 req/s, both at 0.5% errors.
func speedSeries() []promtest.Series {
	var out []promtest.Series
	for h := range speedHosts {
		track, rps := "baseline", 4.0
		if h < speedCanaryHosts {
			track, rps = "canary", 2.0
		}
		host := fmt.Sprintf("checkout-%03d", h)
		for _, code := range []string{"200", "500"} {
			share := 0.995
			if code == "500" {
				share = 0.005
			}
			s := promtest.Series{Name: "http_requests_total",
				Labels: map[string]string{"service": "checkout", "track": track, "code": code, "host": host}}
			var v float64
			for ts := speedT0.Add(-time.Hour); !ts.After(speedT0.Add(10 * time.Minute)); ts = ts.Add(15 * time.Second) {
				v += rps * 15 * share
				s.Samples = append(s.Samples, promtest.Point{T: ts, V: v})
			}
			out = append(out, s)
		}
	}
	return out
}

// speedSource is a metric source holding speedSeries: the embedded engine,
// or a real Prometheus started with promtest (skipped loudly, or failed
// under CI, without the Debian prometheus package).
func speedSource(b *testing.B, kind string) Querier {
	series := speedSeries()
	if kind == "prometheus" {
		srv := promtest.Start(b, series)
		src, err := metricsource.NewHTTP(metricsource.HTTPConfig{URL: srv.URL, Timeout: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { src.Close() })
		return src
	}
	f := newFixture(b)
	var samples []metricsource.Sample
	for _, s := range series {
		labels := map[string]string{"__name__": s.Name}
		for k, v := range s.Labels {
			labels[k] = v
		}
		for _, p := range s.Samples {
			samples = append(samples, metricsource.Sample{Labels: labels, T: p.T, V: p.V})
		}
	}
	if err := f.src.Append(context.Background(), samples); err != nil {
		b.Fatal(err)
	}
	return f.src
}

// call is one query of a decision, with its times, so that it can be
// replayed without the gate.
type call struct {
	query          string
	ts, start, end time.Time
	step           time.Duration
	isRange        bool
}

type callRecorder struct {
	Querier
	mu    sync.Mutex
	calls []call
}

func (r *callRecorder) Query(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	r.mu.Lock()
	r.calls = append(r.calls, call{query: q, ts: ts})
	r.mu.Unlock()
	return r.Querier.Query(ctx, q, ts)
}

func (r *callRecorder) QueryRange(ctx context.Context, q string, s, e time.Time, step time.Duration) (model.Matrix, error) {
	r.mu.Lock()
	r.calls = append(r.calls, call{query: q, start: s, end: e, step: step, isRange: true})
	r.mu.Unlock()
	return r.Querier.QueryRange(ctx, q, s, e, step)
}

func (c call) run(ctx context.Context, src Querier) error {
	var err error
	if c.isRange {
		_, err = src.QueryRange(ctx, c.query, c.start, c.end, c.step)
	} else {
		_, err = src.Query(ctx, c.query, c.ts)
	}
	return err
}

// replay runs the calls all at once (the least wall time the same queries
// can take) or one after the other.
func replay(ctx context.Context, src Querier, calls []call, parallel bool) error {
	if !parallel {
		for _, c := range calls {
			if err := c.run(ctx, src); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.run(ctx, src)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// canned answers every recorded call from memory, instantly: against it a
// decision costs only the gate's own work.
type canned struct {
	vectors map[string]model.Vector
	ranges  map[string]model.Matrix
}

func (c call) key() string {
	return fmt.Sprintf("%s|%d|%d|%d|%d", c.query, c.ts.UnixMilli(), c.start.UnixMilli(), c.end.UnixMilli(), c.step)
}

// record runs the calls against src and keeps the answers.
func record(ctx context.Context, src Querier, calls []call) (*canned, error) {
	c := &canned{vectors: map[string]model.Vector{}, ranges: map[string]model.Matrix{}}
	for _, cl := range calls {
		if cl.isRange {
			m, err := src.QueryRange(ctx, cl.query, cl.start, cl.end, cl.step)
			if err != nil {
				return nil, err
			}
			c.ranges[cl.key()] = m
			continue
		}
		v, err := src.Query(ctx, cl.query, cl.ts)
		if err != nil {
			return nil, err
		}
		c.vectors[cl.key()] = v
	}
	return c, nil
}

func (c *canned) Query(_ context.Context, q string, ts time.Time) (model.Vector, error) {
	v, ok := c.vectors[call{query: q, ts: ts}.key()]
	if !ok {
		return nil, fmt.Errorf("no recorded answer for %s at %s", q, ts)
	}
	return v, nil
}

func (c *canned) QueryRange(_ context.Context, q string, s, e time.Time, step time.Duration) (model.Matrix, error) {
	m, ok := c.ranges[call{query: q, start: s, end: e, step: step, isRange: true}.key()]
	if !ok {
		return nil, fmt.Errorf("no recorded answer for range %s", q)
	}
	return m, nil
}

// BenchmarkDecide1000Series is one uncached decision against each source
// (decide: a new stage attempt each time, so every check queries and the
// answer is recorded in the SQLite store); paired times, in each
// iteration, a decision and the same queries without the gate (all at
// once, the least wall time they can take, and one by one); gate-only
// measures the gate's own work directly, against the recorded answers
// served from memory, with its percentiles.
func BenchmarkDecide1000Series(b *testing.B) {
	for _, kind := range []string{"embedded", "prometheus"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			src := speedSource(b, kind)
			rec := &callRecorder{Querier: src}
			f := newFixture(b)
			now := speedT0.Add(10*time.Minute + 20*time.Second)
			attempt := 0
			decide := func(e *Engine) (Decision, error) {
				attempt++
				return e.Decide(ctx, Request{Service: "checkout", PatchID: "p-1", Stage: "canary", Params: map[string]string{
					ParamStageStartedAt: speedT0.Format(time.RFC3339), ParamAttempt: strconv.Itoa(attempt)}})
			}
			e := f.engine(b, rec, now, testPolicy)
			d, err := decide(e)
			if err != nil {
				b.Fatal(err)
			}
			if d.Decision != Go {
				b.Fatalf("the benchmark's healthy canary got %s: %s", d.Decision, d.Reason)
			}
			calls := slices.Clone(rec.calls)
			answers, err := record(ctx, src, calls)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("decide", func(b *testing.B) {
				for b.Loop() {
					if _, err := decide(e); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(calls)), "queries/op")
			})
			// paired takes, per iteration, one decision and the same queries
			// replayed all at once and one by one, so that the three see the
			// same state of the source and machine (a Prometheus slows as it
			// runs; separate sub-benchmarks would compare different moments).
			b.Run("paired", func(b *testing.B) {
				var dec, par, ser time.Duration
				for b.Loop() {
					t0 := time.Now()
					if _, err := decide(e); err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					if err := replay(ctx, src, calls, true); err != nil {
						b.Fatal(err)
					}
					t2 := time.Now()
					if err := replay(ctx, src, calls, false); err != nil {
						b.Fatal(err)
					}
					dec, par, ser = dec+t1.Sub(t0), par+t2.Sub(t1), ser+time.Since(t2)
				}
				n := float64(b.N) * float64(time.Millisecond)
				b.ReportMetric(float64(dec)/n, "decide-ms")
				b.ReportMetric(float64(par)/n, "raw-parallel-ms")
				b.ReportMetric(float64(ser)/n, "raw-serial-ms")
				b.ReportMetric(float64(dec)/float64(par), "decide/raw-parallel")
			})
			// gate-only's store is an SQLite file on the test's disk, synced
			// on every commit (synchronous=FULL); gate-only-tmpfs-store puts
			// it on tmpfs, where a sync costs nothing, to tell the gate's CPU
			// work from the disk's.
			stores := map[string]*fixture{"gate-only": f}
			if dir, err := os.MkdirTemp("/dev/shm", "gatebench-"); err == nil {
				b.Cleanup(func() { os.RemoveAll(dir) })
				st, err := store.Open(ctx, "sqlite", filepath.Join(dir, "gate.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { st.Close() })
				stores["gate-only-tmpfs-store"] = &fixture{src: f.src, store: st}
			}
			for _, name := range []string{"gate-only", "gate-only-tmpfs-store"} {
				fx, ok := stores[name]
				if !ok {
					continue
				}
				b.Run(name, func(b *testing.B) {
					e := fx.engine(b, answers, now, testPolicy)
					var ms []float64
					for b.Loop() {
						t := time.Now()
						if _, err := decide(e); err != nil {
							b.Fatal(err)
						}
						ms = append(ms, time.Since(t).Seconds()*1e3)
					}
					b.ReportMetric(percentile(ms, 0.5), "p50-ms")
					b.ReportMetric(percentile(ms, 0.99), "p99-ms")
				})
			}
		})
	}
}

// percentile returns the q-quantile of xs (nearest rank).
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
