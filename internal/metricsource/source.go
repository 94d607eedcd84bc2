// Package metricsource runs PromQL: against any Prometheus HTTP API
// (Prometheus, Thanos, Mimir, VictoriaMetrics) or against Prometheus' own
// engine over a local TSDB (the demo and unit tests).
package metricsource

import (
	"context"
	"time"

	"github.com/prometheus/common/model"
)

// Source answers instant and range queries and says whether it is reachable.
type Source interface {
	// Query runs an instant query at ts, which must not be zero. A scalar
	// result comes back as one sample with no labels; any other result type
	// than vector or scalar is an error naming the query.
	Query(ctx context.Context, query string, ts time.Time) (model.Vector, error)
	// QueryRange runs a range query from start to end, both included, every
	// step. A result that is not a matrix is an error naming the query.
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error)
	// Ready returns nil when the source answers queries.
	Ready(ctx context.Context) error
	Close() error
}
