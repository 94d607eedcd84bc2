package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

// app is a running gate: source, store, engine and HTTP server.
type app struct {
	cfg    *config.Config
	reg    *prometheus.Registry
	source metricsource.Source
	store  store.Store
	engine *gate.Engine
	server *server.Server
	// annotator marks decisions on Grafana's on-call dashboard (nil
	// without grafana.url).
	annotator *dashboards.Annotator
	// notifier sends decisions to the notify: webhooks (nil without any).
	notifier *notify.Notifier
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
	a := &app{cfg: cfg, reg: reg, source: src, store: st}
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
	a.engine, err = gate.New(gate.Config{Policy: cfg, Source: src, Store: st, Now: opt.now, Logger: opt.logger, Observers: observers})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.server, err = server.New(server.Config{
		Gate: a.engine, Decisions: st, Ready: a.ready,
		Tokens: cfg.Tokens, InsecureNoAuth: opt.insecureNoAuth,
		Registry: reg, Logger: opt.logger,
		Operator: st, Policy: cfg, Now: opt.now,
		UI: a.uiConfig(opt.now),
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
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
