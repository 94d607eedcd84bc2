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
	Query(ctx context.Context, query string, ts time.Time) (model.Vector, error)
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error)
	// Ready returns nil when the source answers queries.
	Ready(ctx context.Context) error
	Close() error
}
