package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/internal/config"
)

// reloadMetrics are the reload series, named as Prometheus names its own.
type reloadMetrics struct {
	successful prometheus.Gauge
	lastOK     prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer) (*reloadMetrics, error) {
	m := &reloadMetrics{
		successful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "patchgate_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful (1) or refused (0, the previous configuration is still served).",
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "patchgate_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload (or of the start).",
		}),
	}
	for _, c := range []prometheus.Collector{m.successful, m.lastOK} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *reloadMetrics) succeeded(at time.Time) {
	m.successful.Set(1)
	m.lastOK.Set(float64(at.UnixNano()) / 1e9)
}

// restartOnly are the sections a reload cannot apply: the listener, the
// connections to the source and store, and what is built once at start.
func restartOnly(c *config.Config) map[string]any {
	return map[string]any{
		"listen": c.Listen, "tls": c.TLS, "source": c.Source, "store": []any{c.Store.Driver, c.Store.DSN, c.Store.AuditKey},
		"grafana": c.Grafana, "notify": c.Notify, "ui.session_key": c.UI.SessionKey,
	}
}

// reload reads the config at path again and, when it is valid, serves
// new requests with an engine and server built from it; requests already
// being answered finish on the revision they started with. An invalid
// config is refused, every problem logged at its file:line, and the
// previous revision keeps serving; patchgate_config_last_reload_successful
// says which happened.
func (a *app) reload(path string) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	log := a.logger()
	cfg, err := config.Load(path)
	if err == nil {
		if len(cfg.Tokens) == 0 && !a.opt.insecureNoAuth {
			err = errors.New(path + " defines no tokens: add tokens or restart with --insecure-no-auth")
		}
	}
	var rev *configRevision
	if err == nil {
		rev, err = a.build(cfg)
	}
	if err != nil {
		a.reloads.successful.Set(0)
		var problems config.Problems
		if errors.As(err, &problems) {
			for _, p := range problems {
				log.Error("config reload refused; serving the previous config", "problem", p.Error())
			}
		} else {
			log.Error("config reload refused; serving the previous config", "err", err)
		}
		return err
	}
	for _, w := range cfg.Warnings {
		log.Warn("config", "warning", w.Error())
	}
	old := a.current.Swap(rev)
	a.reloads.succeeded(a.now())
	was, now := restartOnly(old.cfg), restartOnly(cfg)
	for k := range now {
		if !sameJSON(was[k], now[k]) {
			log.Warn("config reloaded, but this section changes only on a restart", "section", k)
		}
	}
	log.Info("config reloaded", "path", path, "services", len(cfg.Services))
	return nil
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func (a *app) logger() *slog.Logger {
	if a.opt.logger != nil {
		return a.opt.logger
	}
	return slog.New(slog.DiscardHandler)
}

// watchReloads starts reloading the config at path on SIGHUP and when the
// file's content changes from what it is now (checked every interval: a
// ConfigMap update swaps a symlink, which inotify on the file would
// miss), until ctx ends.
func (a *app) watchReloads(ctx context.Context, path string, interval time.Duration) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	last := fileSum(path)
	go func() {
		defer signal.Stop(hup)
		a.watch(ctx, path, interval, hup, last)
	}()
}

// watch is watchReloads' loop, from the file's content hash last.
func (a *app) watch(ctx context.Context, path string, interval time.Duration, hup <-chan os.Signal, last [sha256.Size]byte) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			last = fileSum(path)
			a.reload(path) // logged and counted
		case <-t.C:
			if sum := fileSum(path); sum != last {
				last = sum
				a.reload(path)
			}
		}
	}
}

// fileSum is a hash of the file's content (zero when unreadable).
func fileSum(path string) [sha256.Size]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return [sha256.Size]byte{}
	}
	return sha256.Sum256(b)
}
