// Package server is patchgate's HTTP side, with one error-to-status
// mapper and bearer-token scopes for every route:
//
//   - the gate API: POST /v1/gate, the decision log (GET /v1/decisions),
//     health, readiness, /metrics and the OpenAPI document of all of
//     it (/openapi.json, openapi.yaml);
//   - the operator endpoints, when an Operator store is set: patch
//     lifecycle events (/v1/patches/:id/events), overrides (/v1/overrides),
//     change freezes (/v1/freezes) and the concurrency line
//     (/v1/concurrency);
//   - the integrations that speak a rollout tool's own protocol: Flagger
//     webhooks (/v1/integrations/flagger/...) and Spinnaker's webhook stage
//     with its status URL (/v1/integrations/spinnaker);
//   - the web UI (/ui/: rollouts, decisions, history, overrides, behind a
//     sign-in) and the coverage report page (/reports/coverage);
//   - Client, the Go client of the gate API that `patchgate check` and the
//     integrations' commands use.
//
// Handlers are thin; the decisions are made by a Gate and read from
// Decisions, both declared here so tests can fake them.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// DefaultMaxBodyBytes bounds a request body when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 64 << 10

// Gate is what the server needs from the decision engine.
type Gate interface {
	Decide(ctx context.Context, req gate.Request) (gate.Decision, error)
}

// Decisions reads the audit log.
type Decisions interface {
	GetDecision(ctx context.Context, id string) (store.Decision, error)
	ListDecisions(ctx context.Context, f store.Filter) ([]store.Decision, error)
}

// Config is what New needs.
type Config struct {
	Gate      Gate
	Decisions Decisions
	// Ready reports whether the server can answer (the metric source is
	// reachable and complete, the store writes); nil means always ready.
	// /readyz answers 503 while it returns an error, naming the component
	// of a *NotReadyError; the error text is logged, never shown to an
	// unauthenticated caller.
	Ready func(ctx context.Context) error
	// Tokens are the accepted bearer tokens. With none, New fails unless
	// InsecureNoAuth is set; configured tokens are always enforced.
	Tokens         []config.Token
	InsecureNoAuth bool
	// Registry is served on /metrics; the server registers its metrics in
	// it, unless Metrics holds them already.
	Registry *prometheus.Registry
	// Metrics are the series of the server this one replaces (a config
	// reload), registered in Registry by NewMetrics; nil registers new ones.
	Metrics *Metrics
	// Logger defaults to discarding everything.
	Logger *slog.Logger
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Operator stores patch events, overrides and freezes; with it (and
	// Policy, which names the services) the operator endpoints are served
	// (operator.go).
	Operator Operator
	Policy   *config.Config
	// Now is the clock (default time.Now).
	Now func() time.Time
	// UI is what the web UI and the coverage report read (ui.go).
	UI UIConfig
}

func (c *Config) defaults() error {
	if c.Gate == nil {
		return errors.New("gate is required")
	}
	if c.Decisions == nil {
		return errors.New("decisions is required")
	}
	if c.Registry == nil {
		return errors.New("registry is required")
	}
	if len(c.Tokens) == 0 && !c.InsecureNoAuth {
		return errors.New("no tokens configured (set InsecureNoAuth to run without authentication)")
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("max body bytes must not be negative, got %d", c.MaxBodyBytes)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Ready == nil {
		c.Ready = func(context.Context) error { return nil }
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Operator != nil && c.Policy == nil {
		return errors.New("policy is required with operator")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Server is the HTTP API.
type Server struct {
	gate         Gate
	decisions    Decisions
	ready        func(ctx context.Context) error
	auth         *authenticator
	metrics      *Metrics
	paths        map[string]bool // routes, for the handler label
	logger       *slog.Logger
	maxBodyBytes int64
	echo         *echo.Echo
	// handler is what Handler returns: echo, or in tests echo wrapped by
	// the OpenAPI response validator.
	handler  http.Handler
	operator Operator
	slots    Slots // the operator store's concurrency line, when it has one
	policy   *config.Config
	now      func() time.Time
	ui       UIConfig
	answers  *answers
	sessions *sessions
	logins   *loginLimiter
	// readiness is the last not-ready error logged (nil while ready).
	readiness atomic.Pointer[string]
}

// New checks cfg and builds the server with its routes.
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	auth, err := newAuthenticator(cfg.Tokens, cfg.InsecureNoAuth)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	sess, err := newSessions(cfg.UI.SessionKey, cfg.UI.SessionTTL)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	m := cfg.Metrics
	if m == nil {
		if m, err = NewMetrics(cfg.Registry); err != nil {
			return nil, fmt.Errorf("invalid configuration: %w", err)
		}
	}
	s := &Server{
		gate:         cfg.Gate,
		decisions:    cfg.Decisions,
		ready:        cfg.Ready,
		auth:         auth,
		metrics:      m,
		logger:       cfg.Logger,
		maxBodyBytes: cfg.MaxBodyBytes,
		operator:     cfg.Operator,
		policy:       cfg.Policy,
		now:          cfg.Now,
		ui:           cfg.UI,
		answers:      newAnswers(answerCacheSize),
		sessions:     sess,
		logins:       newLoginLimiter(),
	}
	s.echo = s.routes(cfg.Registry)
	s.handler = s.echo
	return s, nil
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes(reg *prometheus.Registry) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError

	// The instrumentation is outermost so panics are counted as the 500s
	// they become.
	e.Use(s.instrument, middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: s.logPanic,
	}))

	gateScope := s.auth.require(config.ScopeGate)
	e.POST("/v1/gate", s.handleGate, gateScope)
	e.GET("/v1/decisions", s.handleListDecisions, gateScope)
	e.GET("/v1/decisions/:id", s.handleGetDecision, gateScope)
	s.operatorRoutes(e)
	s.integrationRoutes(e)
	s.uiRoutes(e)

	e.GET("/healthz", s.handleHealthz)
	e.GET("/readyz", s.handleReadyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	e.GET("/openapi.json", s.handleOpenAPI)

	s.paths = knownPaths(e.Routes())
	return e
}
