package metricsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb"
)

// ErrClosed is returned by an Embedded source after Close.
var ErrClosed = errors.New("metric source is closed")

const (
	// defaultMaxSamples is the engine's per-query sample limit, as in
	// Prometheus' --query.max-samples.
	defaultMaxSamples = 50_000_000
	// lookbackDelta is Prometheus' default --query.lookback-delta.
	lookbackDelta = 5 * time.Minute
	// oooWindow lets Append write at any time up to this far before the newest
	// sample: the simulator's clock may run in the past or the future.
	oooWindow = 100 * 365 * 24 * time.Hour
)

// EmbeddedConfig configures an Embedded source.
type EmbeddedConfig struct {
	// Dir holds the TSDB. It is created when missing.
	Dir string
	// Logger receives TSDB and engine logs; nil discards them.
	Logger *slog.Logger
	// Timeout bounds each query. Zero means DefaultTimeout.
	Timeout time.Duration
	// Registerer receives the TSDB and PromQL engine metrics (prometheus_tsdb_*,
	// prometheus_engine_*); nil registers nothing. Use one Registerer per
	// Embedded: registering the same metrics twice panics.
	Registerer prometheus.Registerer
}

func (c *EmbeddedConfig) defaults() error {
	if c.Dir == "" {
		return errors.New("the TSDB directory (Dir) is required")
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = promslog.NewNopLogger()
	}
	return nil
}

// Embedded runs PromQL with Prometheus' own engine over a TSDB in a local
// directory. The demo and the simulator write into it with Append; unit tests
// query it like any other Source.
//
// Unlike Prometheus, it accepts samples at any time (out-of-order ingestion
// over a 100-year window) and keeps them without time-based retention.
type Embedded struct {
	db      *tsdb.DB
	engine  *promql.Engine
	timeout time.Duration

	mu     sync.RWMutex // held for reading by queries and appends, for writing by Close
	closed bool
}

// NewEmbedded opens (or creates) the TSDB in cfg.Dir.
func NewEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	opts := tsdb.DefaultOptions()
	opts.OutOfOrderTimeWindow = oooWindow.Milliseconds()
	opts.RetentionDuration = 0 // keep everything: time retention would count from the newest (possibly simulated future) sample
	db, err := tsdb.Open(cfg.Dir, cfg.Logger.With("component", "tsdb"), cfg.Registerer, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("open TSDB in %s: %w", cfg.Dir, err)
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               cfg.Logger.With("component", "query engine"),
		Reg:                  cfg.Registerer,
		MaxSamples:           defaultMaxSamples,
		Timeout:              cfg.Timeout,
		LookbackDelta:        lookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		// Subqueries without a step use this interval, Prometheus' default
		// global evaluation_interval.
		NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
	})
	return &Embedded{db: db, engine: engine, timeout: cfg.Timeout}, nil
}

// Query runs an instant query at ts. A scalar result comes back as a vector
// of one sample with no labels, as with HTTP.
func (e *Embedded) Query(ctx context.Context, query string, ts time.Time) (model.Vector, error) {
	if ts.IsZero() {
		return nil, fmt.Errorf("query %q: evaluation time is zero", query)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, fmt.Errorf("query %q: %w", query, ErrClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	q, err := e.engine.NewInstantQuery(ctx, e.db, nil, query, ts)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("query %q: %w", query, res.Err)
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return fromVector(v), nil
	case promql.Scalar:
		return model.Vector{{Metric: model.Metric{}, Value: model.SampleValue(v.V), Timestamp: model.Time(v.T)}}, nil
	default:
		return nil, fmt.Errorf("query %q: got %s, want vector or scalar", query, res.Value.Type())
	}
}

// QueryRange runs a range query from start to end (inclusive) every step.
func (e *Embedded) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	if err := checkRange(query, start, end, step); err != nil {
		return nil, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, fmt.Errorf("range query %q: %w", query, ErrClosed)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	q, err := e.engine.NewRangeQuery(ctx, e.db, nil, query, start, end, step)
	if err != nil {
		return nil, fmt.Errorf("range query %q: %w", query, err)
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("range query %q: %w", query, res.Err)
	}
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return nil, fmt.Errorf("range query %q: got %s, want matrix", query, res.Value.Type())
	}
	return fromMatrix(m), nil
}

// Ready returns nil unless the source is closed.
func (e *Embedded) Ready(context.Context) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return ErrClosed
	}
	return nil
}

// Close waits for running queries and appends, then closes the engine and
// the TSDB. Later calls return nil.
func (e *Embedded) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	return errors.Join(e.engine.Close(), e.db.Close())
}

// Sample is one float sample to append. Labels holds every label of the
// series, the metric name under "__name__". As in Prometheus, a label with an
// empty value is the same as no label and is dropped.
type Sample struct {
	Labels map[string]string
	T      time.Time
	V      float64
}

// Append writes samples in one transaction: all of them or, on error, none.
// Samples may be in any order and at any time, older or newer than what the
// TSDB holds already.
//
// Two samples of one series at one time with different values in the same
// call are an error (identical ones are written once). Against earlier calls
// a conflict is an error only at the series' newest time; at older times the
// TSDB keeps one of the values and drops the other, as Prometheus does with
// out-of-order writes.
func (e *Embedded) Append(ctx context.Context, samples []Sample) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return fmt.Errorf("append: %w", ErrClosed)
	}

	// Appending in time order keeps most samples in the in-order head
	// chunks; out-of-order chunks are slower to write and to read.
	order := make([]int, len(samples))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return samples[a].T.Compare(samples[b].T) })

	// last holds the newest sample of each series in this batch, to find
	// conflicting duplicates the head would otherwise drop at commit.
	type point struct {
		labels labels.Labels
		t      int64
		v      float64
	}
	last := make(map[uint64]point)

	app := e.db.Appender(ctx)
	for _, i := range order {
		s := samples[i]
		ls, err := seriesLabels(s.Labels)
		if err != nil {
			_ = app.Rollback()
			return fmt.Errorf("append sample %d: %w", i, err)
		}
		if s.T.IsZero() {
			_ = app.Rollback()
			return fmt.Errorf("append sample %d %s: time is zero", i, ls)
		}
		t := s.T.UnixMilli()
		h := ls.Hash()
		if p, ok := last[h]; ok && p.t == t && labels.Equal(p.labels, ls) {
			if math.Float64bits(p.v) == math.Float64bits(s.V) {
				continue
			}
			_ = app.Rollback()
			return fmt.Errorf("append sample %d %s at %s: %v conflicts with %v at the same time", i, ls, s.T.UTC().Format(time.RFC3339Nano), s.V, p.v)
		}
		last[h] = point{labels: ls, t: t, v: s.V}
		if _, err := app.Append(0, ls, t, s.V); err != nil {
			_ = app.Rollback()
			return fmt.Errorf("append sample %d %s at %s: %w", i, ls, s.T.UTC().Format(time.RFC3339Nano), err)
		}
	}
	if err := app.Commit(); err != nil {
		return fmt.Errorf("append: commit: %w", err)
	}
	return nil
}

func seriesLabels(m map[string]string) (labels.Labels, error) {
	b := labels.NewScratchBuilder(len(m))
	for name, value := range m {
		if value == "" {
			continue
		}
		// Legacy names only: what every backend, Prometheus 2 included, can
		// select without quoting.
		if !model.LegacyValidation.IsValidLabelName(name) {
			return labels.EmptyLabels(), fmt.Errorf("invalid label name %q", name)
		}
		if name == model.MetricNameLabel && !model.LegacyValidation.IsValidMetricName(value) {
			return labels.EmptyLabels(), fmt.Errorf("invalid metric name %q", value)
		}
		b.Add(name, value)
	}
	b.Sort()
	ls := b.Labels()
	if ls.IsEmpty() {
		return ls, errors.New("series has no labels")
	}
	return ls, nil
}

var _ Source = (*Embedded)(nil)
