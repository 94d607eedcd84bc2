package metricsource

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/common/model"
)

// Counting wraps a Source and remembers every query sent through it, so a
// test can prove how many queries some work cost. It is safe for concurrent
// use.
type Counting struct {
	Source

	mu      sync.Mutex
	queries []string
}

// NewCounting wraps src.
func NewCounting(src Source) *Counting {
	return &Counting{Source: src}
}

// Query counts the query and passes it on.
func (c *Counting) Query(ctx context.Context, query string, ts time.Time) (model.Vector, error) {
	c.record(query)
	return c.Source.Query(ctx, query, ts)
}

// QueryRange counts the query and passes it on.
func (c *Counting) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	c.record(query)
	return c.Source.QueryRange(ctx, query, start, end, step)
}

func (c *Counting) record(query string) {
	c.mu.Lock()
	c.queries = append(c.queries, query)
	c.mu.Unlock()
}

// Count returns how many queries (instant and range) were sent.
func (c *Counting) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queries)
}

// Queries returns the queries sent so far, in the order they arrived.
func (c *Counting) Queries() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.queries...)
}

// Reset forgets the queries sent so far.
func (c *Counting) Reset() {
	c.mu.Lock()
	c.queries = nil
	c.mu.Unlock()
}

var _ Source = (*Counting)(nil)
