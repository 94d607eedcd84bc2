package server

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/gate"
)

// Metrics are the server's own series. Their labels are bounded: service
// and stage come from decisions, which exist only for configured services
// and stages, and handler is a route or "other". A server built for a
// reloaded config takes those of the one it replaces (Config.Metrics).
type Metrics struct {
	decisions     *prometheus.CounterVec
	decideSeconds *prometheus.HistogramVec
	requests      *prometheus.CounterVec
}

// NewMetrics registers the server's series in reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patchgate_decisions_total",
			Help: "Gate decisions answered, by service, stage, decision and mode. In shadow mode, decision is the verdict the gate evaluated; the answer was go.",
		}, []string{"service", "stage", "decision", "mode"}),
		decideSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "patchgate_decision_duration_seconds",
			Help:    "Time taken to evaluate a gate request, by decision (error when the gate failed).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"decision"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "patchgate_http_requests_total",
			Help: "HTTP requests answered, by handler and status code.",
		}, []string{"handler", "code"}),
	}
	for _, c := range []prometheus.Collector{m.decisions, m.decideSeconds, m.requests} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observeDecision(d gate.Decision, elapsed time.Duration) {
	mode := d.Mode
	if mode == "" {
		mode = gate.ModeEnforce
	}
	m.decisions.WithLabelValues(d.Service, d.Stage, string(d.Evaluated()), mode).Inc()
	m.observeDecide(string(d.Decision), elapsed)
}

func (m *Metrics) observeDecide(decision string, elapsed time.Duration) {
	m.decideSeconds.WithLabelValues(decision).Observe(elapsed.Seconds())
}

// knownPaths returns the routes that may appear as handler label values.
func knownPaths(routes []*echo.Route) map[string]bool {
	paths := make(map[string]bool, len(routes))
	for _, r := range routes {
		paths[r.Path] = true
	}
	return paths
}

// instrument counts every answer. It hands errors to the error handler
// itself so the status written is the one counted.
func (s *Server) instrument(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := next(c); err != nil {
			c.Error(err)
		}
		handler := c.Path()
		if !s.paths[handler] {
			handler = "other"
		}
		s.metrics.requests.WithLabelValues(handler, strconv.Itoa(c.Response().Status)).Inc()
		return nil
	}
}
