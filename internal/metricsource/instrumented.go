package metricsource

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
)

// Query kinds, the value of the kind label.
const (
	KindQuery      = "query"
	KindQueryRange = "query_range"
)

type sourceMetrics struct {
	queries  *prometheus.CounterVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newSourceMetrics(reg prometheus.Registerer) *sourceMetrics {
	m := &sourceMetrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patchgate_prometheus_queries_total",
			Help: "PromQL queries sent to the metric source, by kind (query, query_range).",
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patchgate_prometheus_query_errors_total",
			Help: "PromQL queries that returned an error, by kind (query, query_range).",
		}, []string{"kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "patchgate_prometheus_query_duration_seconds",
			Help:    "Time PromQL queries took, errors included, by kind (query, query_range).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
	}
	for _, kind := range []string{KindQuery, KindQueryRange} {
		m.queries.WithLabelValues(kind)
		m.errors.WithLabelValues(kind)
		m.duration.WithLabelValues(kind)
	}
	if reg != nil {
		m.queries = register(reg, m.queries)
		m.errors = register(reg, m.errors)
		m.duration = register(reg, m.duration)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same name, so that a source rebuilt on reload keeps counting.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

type instrumented struct {
	src     Source
	metrics *sourceMetrics
}

// Instrumented wraps src with query counts, error counts and durations by
// kind: patchgate_prometheus_queries_total, _query_errors_total and
// _query_duration_seconds. Ready and Close pass through uncounted. A nil reg
// counts without exporting. Wrapping several sources with one registerer
// shares the metrics.
func Instrumented(src Source, reg prometheus.Registerer) Source {
	return &instrumented{src: src, metrics: newSourceMetrics(reg)}
}

func (s *instrumented) observe(kind string, start time.Time, err error) {
	s.metrics.queries.WithLabelValues(kind).Inc()
	s.metrics.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	if err != nil {
		s.metrics.errors.WithLabelValues(kind).Inc()
	}
}

func (s *instrumented) Query(ctx context.Context, query string, ts time.Time) (model.Vector, error) {
	start := time.Now()
	v, err := s.src.Query(ctx, query, ts)
	s.observe(KindQuery, start, err)
	return v, err
}

func (s *instrumented) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	began := time.Now()
	m, err := s.src.QueryRange(ctx, query, start, end, step)
	s.observe(KindQueryRange, began, err)
	return m, err
}

func (s *instrumented) Ready(ctx context.Context) error { return s.src.Ready(ctx) }

func (s *instrumented) Close() error { return s.src.Close() }
