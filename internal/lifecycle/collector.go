package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/internal/store"
)

// Records is the part of the store the collector reads.
type Records interface {
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
	ListDecisions(ctx context.Context, f store.Filter) ([]store.Decision, error)
}

// CollectorConfig configures a Collector.
type CollectorConfig struct {
	Store Records
	// Now is the clock (default time.Now).
	Now func() time.Time
	// CacheFor is how long one read of the store serves scrapes (default
	// 10s): several Prometheus servers scraping cost one read.
	CacheFor time.Duration
	// ActiveFor is how recent a rollout's latest decision must be for the
	// canary error delta gauge to show it (default 30m).
	ActiveFor time.Duration
	// Decisions is how many of the newest decisions are read for the
	// canary gauge (default 5,000).
	Decisions int
	// Timeout bounds one read of the store (default 10s).
	Timeout time.Duration
	Logger  *slog.Logger
}

func (c *CollectorConfig) defaults() error {
	if c.Store == nil {
		return errors.New("a store is required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CacheFor <= 0 {
		c.CacheFor = 10 * time.Second
	}
	if c.ActiveFor <= 0 {
		c.ActiveFor = 30 * time.Minute
	}
	if c.Decisions <= 0 {
		c.Decisions = 5000
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Collector is a prometheus.Collector of the patch lifecycle series.
type Collector struct {
	cfg   CollectorConfig
	descs map[string]*prometheus.Desc

	mu         sync.Mutex
	snap       *Snapshot
	readAt     time.Time
	readErrors float64
}

// NewCollector returns a Collector; register it on the registry /metrics
// serves.
func NewCollector(cfg CollectorConfig) (*Collector, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	c := &Collector{cfg: cfg, descs: map[string]*prometheus.Desc{}}
	for _, m := range Metrics() {
		if m.Exporter == "lifecycle" {
			c.descs[m.Name] = prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
		}
	}
	return c, nil
}

// Describe sends every series' description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect reads the store (or uses a read younger than CacheFor) and sends
// every series. When the store cannot be read, the last good values are
// sent and patchgate_lifecycle_read_errors_total grows.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snap, errs := c.snapshot()
	ch <- prometheus.MustNewConstMetric(c.descs[ReadErrors], prometheus.CounterValue, errs)
	if snap == nil {
		return
	}
	for name, series := range snap.hists {
		for _, h := range series {
			m, err := prometheus.NewConstHistogram(c.descs[name], h.count, h.sum, h.buckets, h.labels...)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(c.descs[name], err)
				continue
			}
			ch <- m
		}
	}
	for name, series := range snap.values {
		kind := prometheus.GaugeValue
		if name == Incidents || name == Rollbacks {
			kind = prometheus.CounterValue
		}
		for _, v := range series {
			m, err := prometheus.NewConstMetric(c.descs[name], kind, v.v, v.labels...)
			if err != nil {
				ch <- prometheus.NewInvalidMetric(c.descs[name], err)
				continue
			}
			ch <- m
		}
	}
}

// Snapshot returns the current values, read from the store unless the
// last read is younger than CacheFor.
func (c *Collector) Snapshot(ctx context.Context) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	if c.snap != nil && now.Sub(c.readAt) < c.cfg.CacheFor && !now.Before(c.readAt) {
		return c.snap, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	events, err := c.cfg.Store.ListEvents(ctx, store.EventFilter{})
	if err != nil {
		return c.snap, fmt.Errorf("read patch events: %w", err)
	}
	decisions, err := c.cfg.Store.ListDecisions(ctx, store.Filter{Limit: c.cfg.Decisions})
	if err != nil {
		return c.snap, fmt.Errorf("read decisions: %w", err)
	}
	c.snap = Compute(events, decisions, ComputeConfig{Now: now, ActiveFor: c.cfg.ActiveFor})
	c.readAt = now
	return c.snap, nil
}

func (c *Collector) snapshot() (*Snapshot, float64) {
	snap, err := c.Snapshot(context.Background())
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.readErrors++
		c.cfg.Logger.Warn("patch lifecycle metrics: serving the last good values", "err", err)
	}
	return snap, c.readErrors
}
