package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patchgate/patchgate/dashboards"
	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/notify"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/server"
)

// app is a running gate: source, store, and the current revision of the
// config with the engine and HTTP server built from it. A reload builds a
// new revision and swaps it in; source, store, registry, annotator and
// notifier stay (reload.go).
type app struct {
	reg    *prometheus.Registry
	source metricsource.Source
	store  store.Store
	// current is the revision new requests are served by; a request
	// finishes on the revision it started with.
	current atomic.Pointer[configRevision]
	// annotator marks decisions on Grafana's on-call dashboard (nil
	// without grafana.url).
	annotator *dashboards.Annotator
	// notifier sends decisions to the notify: webhooks (nil without any).
	notifier *notify.Notifier

	// What every revision is built with.
	opt        appOptions
	observers  []func(gate.Decision)
	metrics    *server.Metrics
	sessionKey []byte // ui.session_key, else one made at start
	reloads    *reloadMetrics
	reloadMu   sync.Mutex // one reload at a time
}

// configRevision is one config with the engine and server built from it;
// none of the three changes once built.
type configRevision struct {
	cfg    *config.Config
	engine *gate.Engine
	server *server.Server
}

// Handler serves each request with the current revision.
func (a *app) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.current.Load().server.Handler().ServeHTTP(w, r)
	})
}

type appOptions struct {
	// source replaces the configured one (the demo's embedded source).
	source         metricsource.Source
	now            func() time.Time
	insecureNoAuth bool
	logger         *slog.Logger
	// grafanaRetry and annotationQueue tune decision annotations (tests);
	// zero values take the defaults.
	grafanaRetry    dashboards.RetryPolicy
	annotationQueue int
	// notifyBackoff is the first pause between webhook attempts (tests).
	notifyBackoff time.Duration
}

func newApp(ctx context.Context, cfg *config.Config, opt appOptions) (*app, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	src := opt.source
	if src == nil {
		var err error
		if src, err = openSource(cfg.Source); err != nil {
			return nil, err
		}
	}
	src = metricsource.Instrumented(src, reg)
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		src.Close()
		return nil, err
	}
	a := &app{reg: reg, source: src, store: st, opt: opt}
	// Patch lifecycle SLIs, read from the store at scrape time: every
	// replica on one store exports the same values (internal/lifecycle).
	lc, err := lifecycle.NewCollector(lifecycle.CollectorConfig{Store: st, Now: opt.now, Logger: opt.logger})
	if err == nil {
		err = reg.Register(lc)
	}
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("lifecycle metrics: %w", err)
	}
	var observers []func(gate.Decision)
	if cfg.Grafana.Annotating() {
		if a.annotator, err = newAnnotator(cfg, reg, opt); err != nil {
			a.Close()
			return nil, fmt.Errorf("grafana annotations: %w", err)
		}
		observers = append(observers, annotate(a.annotator))
	}
	if a.notifier, err = newNotifier(cfg, reg, opt); err != nil {
		a.Close()
		return nil, fmt.Errorf("notify: %w", err)
	}
	if a.notifier != nil {
		observers = append(observers, notifyObserver(a.notifier))
	}
	a.observers = observers
	if a.metrics, err = server.NewMetrics(reg); err != nil {
		a.Close()
		return nil, err
	}
	if a.reloads, err = newReloadMetrics(reg); err != nil {
		a.Close()
		return nil, err
	}
	a.sessionKey = []byte(cfg.UI.SessionKey)
	if len(a.sessionKey) == 0 {
		// Sessions outlive reloads: one key for the process.
		a.sessionKey = make([]byte, server.MinSessionKeyBytes)
		if _, err := rand.Read(a.sessionKey); err != nil {
			a.Close()
			return nil, fmt.Errorf("generating a session key: %w", err)
		}
	}
	rev, err := a.build(cfg)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.current.Store(rev)
	a.reloads.succeeded(a.now())
	return a, nil
}

// build makes a revision of cfg over the app's source and store.
func (a *app) build(cfg *config.Config) (*configRevision, error) {
	engine, err := gate.New(gate.Config{Policy: cfg, Source: a.source, Store: a.store, Now: a.opt.now, Logger: a.opt.logger, Observers: a.observers})
	if err != nil {
		return nil, err
	}
	srv, err := server.New(server.Config{
		Gate: engine, Decisions: a.store, Ready: a.ready,
		Tokens: cfg.Tokens, InsecureNoAuth: a.opt.insecureNoAuth,
		Registry: a.reg, Metrics: a.metrics, Logger: a.opt.logger,
		Operator: a.store, Policy: cfg, Now: a.opt.now,
		UI: a.uiConfig(cfg, a.opt.now),
	})
	if err != nil {
		return nil, err
	}
	return &configRevision{cfg: cfg, engine: engine, server: srv}, nil
}

func (a *app) now() time.Time {
	if a.opt.now != nil {
		return a.opt.now()
	}
	return time.Now()
}

// ready fails while the metric source is unreachable or answers partial
// data, or the store cannot write (disk full, read-only, unreachable).
func (a *app) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.source.Ready(ctx); err != nil {
		return &server.NotReadyError{Component: "metric_source", Err: err}
	}
	if err := a.store.Ping(ctx); err != nil {
		return &server.NotReadyError{Component: "store", Err: err}
	}
	return nil
}

func (a *app) Close() error {
	if a.annotator != nil {
		// Send what is queued, briefly: annotations never hold up a stop.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a.annotator.Stop(ctx)
		cancel()
	}
	if a.notifier != nil {
		// The same for notifications.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		a.notifier.Stop(ctx)
		cancel()
	}
	return errors.Join(a.source.Close(), a.store.Close())
}

func openSource(c config.Source) (metricsource.Source, error) {
	switch c.Type {
	case "prometheus":
		// config.Load has read bearer_token_file, from the config's folder.
		return metricsource.NewHTTP(metricsource.HTTPConfig{
			URL: c.URL, Headers: c.Headers, BearerToken: c.BearerToken, Timeout: time.Duration(c.Timeout),
		})
	case "embedded":
		return nil, errors.New("source.type embedded is only available in `patchgate demo`; point serve at a Prometheus HTTP API")
	default:
		return nil, fmt.Errorf("source.type %q is not supported", c.Type)
	}
}

func openStore(ctx context.Context, c config.Store) (store.Store, error) {
	dsn := c.DSN
	if c.Driver == "sqlite" || c.Driver == "" {
		if dir := filepath.Dir(dsn); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
	}
	return store.Open(ctx, c.Driver, dsn, store.WithAuditKey([]byte(c.AuditKey)))
}
