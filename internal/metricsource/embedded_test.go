package metricsource

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
)

// t0 is the start of the test data: far from the wall clock on purpose.
var t0 = time.Date(2031, 3, 14, 12, 0, 0, 0, time.UTC)

func newEmbedded(t *testing.T, dir string) *Embedded {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	e, err := NewEmbedded(EmbeddedConfig{Dir: dir, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("NewEmbedded: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// counter returns samples of a counter growing by perSecond every 15 s from
// start for d.
func counter(ls map[string]string, start time.Time, d time.Duration, perSecond float64) []Sample {
	var out []Sample
	for off := time.Duration(0); off <= d; off += 15 * time.Second {
		out = append(out, Sample{Labels: ls, T: start.Add(off), V: perSecond * off.Seconds()})
	}
	return out
}

func requests(code string) map[string]string {
	return map[string]string{"__name__": "http_requests_total", "job": "api", "code": code}
}

// loaded returns an Embedded holding one hour of two counters from t0:
// code="200" at 10/s and code="500" at 1/s, and a gauge that is NaN at t0+30m.
func loaded(t *testing.T) *Embedded {
	t.Helper()
	e := newEmbedded(t, "")
	var samples []Sample
	samples = append(samples, counter(requests("200"), t0, time.Hour, 10)...)
	samples = append(samples, counter(requests("500"), t0, time.Hour, 1)...)
	samples = append(samples,
		Sample{Labels: map[string]string{"__name__": "temperature", "room": "a"}, T: t0.Add(29 * time.Minute), V: 20},
		Sample{Labels: map[string]string{"__name__": "temperature", "room": "a"}, T: t0.Add(30 * time.Minute), V: math.NaN()},
	)
	if err := e.Append(context.Background(), samples); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return e
}

// byCode indexes a vector by its code label ("" when absent).
func byCode(v model.Vector) map[string]float64 {
	out := make(map[string]float64, len(v))
	for _, s := range v {
		out[string(s.Metric["code"])] = float64(s.Value)
	}
	return out
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func TestEmbeddedQuery(t *testing.T) {
	e := loaded(t)
	at := t0.Add(30 * time.Minute)
	tests := []struct {
		name  string
		query string
		ts    time.Time
		want  map[string]float64 // by code label
		err   string
	}{
		{name: "rate", query: `rate(http_requests_total[5m])`, ts: at, want: map[string]float64{"200": 10, "500": 1}},
		{name: "increase", query: `increase(http_requests_total[10m])`, ts: at, want: map[string]float64{"200": 6000, "500": 600}},
		{name: "error ratio", query: `sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total[5m]))`, ts: at, want: map[string]float64{"": 1.0 / 11}},
		{name: "raw value", query: `http_requests_total{code="200"}`, ts: at, want: map[string]float64{"200": 18000}},
		{name: "NaN sample", query: `temperature`, ts: at, want: map[string]float64{"": math.NaN()}},
		{name: "no series", query: `does_not_exist`, ts: at, want: map[string]float64{}},
		{name: "before the data", query: `http_requests_total`, ts: t0.Add(-time.Minute), want: map[string]float64{}},
		{name: "beyond lookback", query: `http_requests_total`, ts: t0.Add(time.Hour + 6*time.Minute), want: map[string]float64{}},
		{name: "scalar", query: `scalar(sum(rate(http_requests_total[5m])))`, ts: at, want: map[string]float64{"": 11}},
		{name: "time", query: `time()`, ts: at, want: map[string]float64{"": float64(at.Unix())}},
		{name: "at modifier", query: `http_requests_total{code="500"} @ ` + itoa(t0.Add(10*time.Minute).Unix()), ts: at, want: map[string]float64{"500": 600}},
		{name: "negative offset", query: `http_requests_total{code="500"} offset -10m`, ts: at, want: map[string]float64{"500": 2400}},
		{name: "string", query: `"hello"`, ts: at, err: "got string, want vector or scalar"},
		{name: "matrix", query: `http_requests_total[5m]`, ts: at, err: "got matrix, want vector or scalar"},
		{name: "parse error", query: `rate(http_requests_total[5m]`, ts: at, err: "parse error"},
		{name: "zero time", query: `vector(1)`, err: "evaluation time is zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Query(context.Background(), tt.query, tt.ts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Query(%q) error = %v, want one containing %q", tt.query, err, tt.err)
				}
				if !strings.Contains(err.Error(), strconv.Quote(tt.query)) {
					t.Errorf("error %q does not name the query", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Query(%q): %v", tt.query, err)
			}
			if got == nil {
				t.Fatalf("Query(%q) = nil vector, want non-nil", tt.query)
			}
			m := byCode(got)
			if len(m) != len(tt.want) {
				t.Fatalf("Query(%q) = %v, want %v", tt.query, got, tt.want)
			}
			for code, want := range tt.want {
				if v, ok := m[code]; !ok || !near(v, want) {
					t.Errorf("Query(%q)[code=%q] = %v, want %v", tt.query, code, v, want)
				}
			}
			for _, s := range got {
				if !s.Timestamp.Time().Equal(tt.ts) {
					t.Errorf("sample time %s, want %s", s.Timestamp.Time().UTC(), tt.ts)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestEmbeddedScalarHasNoLabels(t *testing.T) {
	e := newEmbedded(t, "")
	got, err := e.Query(context.Background(), `1 + 1`, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Metric) != 0 || got[0].Value != 2 || !got[0].Timestamp.Time().Equal(t0) {
		t.Fatalf("got %v, want one unlabelled sample 2 at %s", got, t0)
	}
	if got[0].Metric == nil {
		t.Fatalf("scalar sample has a nil Metric, want an empty one")
	}
}

func TestEmbeddedQueryRange(t *testing.T) {
	e := loaded(t)
	tests := []struct {
		name       string
		query      string
		start, end time.Time
		step       time.Duration
		want       map[string]float64 // the value at every step, by code
		steps      int
		err        string
	}{
		{
			name: "rate", query: `rate(http_requests_total[5m])`,
			start: t0.Add(10 * time.Minute), end: t0.Add(50 * time.Minute), step: 5 * time.Minute,
			want: map[string]float64{"200": 10, "500": 1}, steps: 9,
		},
		{
			name: "increase", query: `increase(http_requests_total{code="500"}[1m])`,
			start: t0.Add(5 * time.Minute), end: t0.Add(6 * time.Minute), step: 15 * time.Second,
			want: map[string]float64{"500": 60}, steps: 5,
		},
		{
			name: "scalar becomes one series", query: `3`,
			start: t0, end: t0.Add(time.Minute), step: 30 * time.Second,
			want: map[string]float64{"": 3}, steps: 3,
		},
		{
			name: "no series", query: `does_not_exist`,
			start: t0, end: t0.Add(time.Minute), step: 30 * time.Second,
			want: map[string]float64{},
		},
		{name: "zero step", query: `up`, start: t0, end: t0.Add(time.Minute), err: "step 0s is not positive"},
		{name: "end before start", query: `up`, start: t0, end: t0.Add(-time.Minute), step: time.Second, err: "is before start"},
		{name: "string", query: `"x"`, start: t0, end: t0.Add(time.Minute), step: time.Minute, err: "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.QueryRange(context.Background(), tt.query, tt.start, tt.end, tt.step)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("QueryRange(%q) error = %v, want one containing %q", tt.query, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("QueryRange(%q): %v", tt.query, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("QueryRange(%q) has %d series, want %d: %v", tt.query, len(got), len(tt.want), got)
			}
			for _, ss := range got {
				want, ok := tt.want[string(ss.Metric["code"])]
				if !ok {
					t.Fatalf("unexpected series %s", ss.Metric)
				}
				if len(ss.Values) != tt.steps {
					t.Errorf("%s has %d points, want %d", ss.Metric, len(ss.Values), tt.steps)
				}
				for i, p := range ss.Values {
					if wantT := tt.start.Add(time.Duration(i) * tt.step); !p.Timestamp.Time().Equal(wantT) {
						t.Errorf("%s point %d at %s, want %s", ss.Metric, i, p.Timestamp.Time().UTC(), wantT)
					}
					if !near(float64(p.Value), want) {
						t.Errorf("%s point %d = %v, want %v", ss.Metric, i, p.Value, want)
					}
				}
			}
		})
	}
}

// TestEmbeddedAppendAnyTime writes batches the way a simulated clock may:
// forward, then far into the past, then far into the future, then reopens
// the directory and reads everything back.
func TestEmbeddedAppendAnyTime(t *testing.T) {
	dir := t.TempDir()
	e, err := NewEmbedded(EmbeddedConfig{Dir: dir, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	batches := []time.Time{
		t0,
		t0.Add(6 * time.Hour),         // beyond the head's 2h chunk range
		t0.Add(-400 * 24 * time.Hour), // more than a year before
		t0.Add(3 * 24 * time.Hour),    // days ahead
		t0.Add(30 * time.Minute),      // back inside the first hour, another series
		time.Unix(0, 0).UTC().Add(time.Hour),
	}
	for i, start := range batches {
		ls := map[string]string{"__name__": "g", "batch": itoa(int64(i))}
		if err := e.Append(ctx, counter(ls, start, 10*time.Minute, 1)); err != nil {
			t.Fatalf("batch %d at %s: %v", i, start, err)
		}
	}
	check := func(e *Embedded) {
		t.Helper()
		for i, start := range batches {
			q := `increase(g{batch="` + itoa(int64(i)) + `"}[5m])`
			v, err := e.Query(ctx, q, start.Add(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != 1 || !near(float64(v[0].Value), 300) {
				t.Errorf("batch %d at %s: %s = %v, want 300", i, start, q, v)
			}
		}
	}
	check(e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	check(newEmbedded(t, dir))
}

func TestEmbeddedAppendErrors(t *testing.T) {
	ok := Sample{Labels: map[string]string{"__name__": "ok"}, T: t0, V: 1}
	tests := []struct {
		name    string
		samples []Sample
		err     string
	}{
		{name: "no labels", samples: []Sample{ok, {T: t0, V: 1}}, err: "sample 1: series has no labels"},
		{name: "only empty values", samples: []Sample{{Labels: map[string]string{"a": ""}, T: t0}}, err: "series has no labels"},
		{name: "bad label name", samples: []Sample{{Labels: map[string]string{"__name__": "x", "a-b": "1"}, T: t0}}, err: `invalid label name "a-b"`},
		{name: "bad metric name", samples: []Sample{{Labels: map[string]string{"__name__": "1x"}, T: t0}}, err: `invalid metric name "1x"`},
		{name: "zero time", samples: []Sample{{Labels: map[string]string{"__name__": "x"}}}, err: "time is zero"},
		{name: "conflicting values", samples: []Sample{ok, {Labels: ok.Labels, T: t0, V: 2}}, err: "sample 1 {__name__=\"ok\"} at 2031-03-14T12:00:00Z: 2 conflicts with 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmbedded(t, "")
			err := e.Append(context.Background(), tt.samples)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Append error = %v, want one containing %q", err, tt.err)
			}
			// Nothing of a failed batch is kept.
			v, err := e.Query(context.Background(), `ok`, t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != 0 {
				t.Errorf("after a failed Append, ok = %v, want nothing", v)
			}
		})
	}
}

func TestEmbeddedEmptyLabelValueIsDropped(t *testing.T) {
	e := newEmbedded(t, "")
	s := Sample{Labels: map[string]string{"__name__": "x", "canary": ""}, T: t0, V: 1}
	if err := e.Append(context.Background(), []Sample{s}); err != nil {
		t.Fatal(err)
	}
	v, err := e.Query(context.Background(), `x`, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || len(v[0].Metric) != 1 {
		t.Fatalf("got %v, want x with only its name", v)
	}
}

func TestEmbeddedContext(t *testing.T) {
	e := loaded(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Query(ctx, `rate(http_requests_total[5m])`, t0.Add(time.Hour)); err == nil {
		t.Error("Query with a cancelled context succeeded")
	}
	if _, err := e.QueryRange(ctx, `rate(http_requests_total[5m])`, t0, t0.Add(time.Hour), time.Minute); err == nil {
		t.Error("QueryRange with a cancelled context succeeded")
	}
	if err := e.Append(ctx, []Sample{{Labels: map[string]string{"__name__": "x"}, T: t0}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestEmbeddedClosed(t *testing.T) {
	e := newEmbedded(t, "")
	ctx := context.Background()
	if err := e.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Ready(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ready after Close = %v, want ErrClosed", err)
	}
	if _, err := e.Query(ctx, `vector(1)`, t0); !errors.Is(err, ErrClosed) {
		t.Errorf("Query after Close = %v, want ErrClosed", err)
	}
	if _, err := e.QueryRange(ctx, `vector(1)`, t0, t0, time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("QueryRange after Close = %v, want ErrClosed", err)
	}
	if err := e.Append(ctx, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
}

func TestEmbeddedRegistersMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := NewEmbedded(EmbeddedConfig{Dir: t.TempDir(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.Query(context.Background(), `vector(1)`, t0); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg, "prometheus_engine_queries", "prometheus_tsdb_head_series")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("found %d of the engine and TSDB metrics, want 2", n)
	}
}

func TestNewEmbeddedInvalid(t *testing.T) {
	for _, cfg := range []EmbeddedConfig{{}, {Dir: t.TempDir(), Timeout: -time.Second}} {
		if _, err := NewEmbedded(cfg); err == nil || !strings.HasPrefix(err.Error(), "invalid configuration: ") {
			t.Errorf("NewEmbedded(%+v) error = %v, want invalid configuration", cfg, err)
		}
	}
}

func TestEmbeddedAppendDuplicates(t *testing.T) {
	ls := map[string]string{"__name__": "x"}
	ctx := context.Background()
	e := newEmbedded(t, "")
	if err := e.Append(ctx, []Sample{{Labels: ls, T: t0, V: 1}, {Labels: ls, T: t0, V: 1}}); err != nil {
		t.Fatalf("identical duplicates in one batch: %v", err)
	}
	if err := e.Append(ctx, []Sample{{Labels: ls, T: t0, V: 1}}); err != nil {
		t.Fatalf("identical duplicate of the newest sample: %v", err)
	}
	if err := e.Append(ctx, []Sample{{Labels: ls, T: t0, V: 2}}); err == nil || !strings.Contains(err.Error(), "duplicate sample") {
		t.Fatalf("conflict with the newest sample: error = %v, want duplicate sample", err)
	}
	v, err := e.Query(ctx, `x`, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || v[0].Value != 1 {
		t.Fatalf("x = %v, want 1", v)
	}
}

func TestEmbeddedConcurrent(t *testing.T) {
	e := newEmbedded(t, "")
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ls := map[string]string{"__name__": "c", "worker": strconv.Itoa(i)}
			if err := e.Append(ctx, counter(ls, t0, 10*time.Minute, 1)); err != nil {
				t.Error(err)
			}
			if _, err := e.Query(ctx, `sum(rate(c[5m]))`, t0.Add(10*time.Minute)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	v, err := e.Query(ctx, `sum(rate(c[5m]))`, t0.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 1 || !near(float64(v[0].Value), 8) {
		t.Fatalf("sum of 8 workers' rates = %v, want 8", v)
	}
}
