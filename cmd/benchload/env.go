package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/numfmt"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/internal/testbed"
	"github.com/patchgate/patchgate/server"
)

// token is the bearer token the load generator presents: the server
// checks it on every ask, as `serve` does.
const token = "benchload-token-0123456789"

// policy is a service with every check on, as a platform team would
// configure it; the stage's window is an hour of looks.
const policy = `
source: {type: embedded}
tokens: [{name: load, token: "` + token + `", scopes: [gate]}]
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99}
    checks:
      error_delta: {}
      min_traffic: {requests: 500}
      burn_rate: {}
      alerts: {}
      freshness: {max_age: 3m}
    stages:
      - {name: canary, max_wait: 60m}
`

// stageStart is the start of the stage window; the data covers the hour
// before it and ten minutes after, and every ask is at 10m20s.
var stageStart = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func askTime() time.Time { return stageStart.Add(10*time.Minute + 20*time.Second) }

// fleetSeries writes `hosts` hosts × code 200/500 of http_requests_total
// (2·hosts series), a tenth of the hosts on the canary, every 15 s: the
// same shape as the gate's speed benchmarks.
func fleetSeries(hosts int) []metricsource.Sample {
	canary := max(hosts/10, 1)
	traffic := make([]testbed.Traffic, hosts)
	for h := range hosts {
		track, rps := "baseline", 4.0
		if h < canary {
			track, rps = "canary", 2.0
		}
		traffic[h] = testbed.Traffic{Service: "checkout", Track: track, RPS: rps, ErrorRatio: 0.005,
			From: stageStart.Add(-time.Hour), To: stageStart.Add(10 * time.Minute),
			Labels: map[string]string{"host": fmt.Sprintf("checkout-%04d", h)}}
	}
	return testbed.Requests(traffic...)
}

// newSource opens an embedded source in dir holding fleetSeries(hosts).
func newSource(ctx context.Context, dir string, hosts int) (*metricsource.Embedded, error) {
	return testbed.OpenSource(ctx, filepath.Join(dir, "tsdb"), fleetSeries(hosts))
}

// gateEnv is a gate as `serve` builds it: instrumented source, store,
// engine and the HTTP API with its metrics and bearer tokens.
type gateEnv struct {
	engine *gate.Engine
	store  store.Store
	server *server.Server
}

// newGate builds a gate over src with a new SQLite store in dir.
func newGate(ctx context.Context, dir string, src metricsource.Source) (*gateEnv, error) {
	cfg, err := config.Parse("benchload.yaml", []byte(policy))
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	st, err := store.Open(ctx, "sqlite", filepath.Join(dir, "gate.db"))
	if err != nil {
		return nil, err
	}
	e, err := gate.New(gate.Config{Policy: cfg, Source: metricsource.Instrumented(src, reg), Store: st, Now: askTime})
	if err != nil {
		st.Close()
		return nil, err
	}
	s, err := server.New(server.Config{Gate: e, Decisions: st, Tokens: cfg.Tokens, Registry: reg})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &gateEnv{engine: e, store: st, server: s}, nil
}

func (g *gateEnv) Close() error { return g.store.Close() }

// request is an ask for one stage attempt of the benchmark's service.
func request(patch string) gate.Request {
	return gate.Request{Service: "checkout", PatchID: patch, Stage: "canary",
		Params: map[string]string{gate.ParamStageStartedAt: stageStart.Format(time.RFC3339)}}
}

func requestBody(patch string) []byte {
	b, err := json.Marshal(request(patch))
	if err != nil {
		panic(err) // a gate.Request always encodes
	}
	return b
}

// serve runs h on a loopback port until the returned stop is called.
func serve(h http.Handler) (url string, stop func() error, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		return err
	}
	return "http://" + l.Addr().String(), stop, nil
}

// count prints a rounded number with thousands separators.
func count(v float64) string { return numfmt.Grouped(v, 0) }
