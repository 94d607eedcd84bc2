package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/patchgate/patchgate/backtest"
	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/sim"
	"github.com/patchgate/patchgate/server"
)

//go:embed demo.yaml
var demoConfig []byte

// demoClock is the simulated clock the gate reads while the fleet advances.
type demoClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *demoClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// demoRolloutMinutes is the longest the demo's rollouts run, in simulated
// minutes.
const demoRolloutMinutes = 90

// followWall advances the fleet, and the gate's clock with it, a
// simulated minute at a time until the fleet's next minute would pass the
// wall clock: once the rollouts are over, the demo's time is real time.
func followWall(ctx context.Context, fleet *sim.Fleet, app sim.Appender, clock *demoClock, wall func() time.Time, scrape func(time.Time) error) error {
	for !fleet.Now().Add(time.Minute).After(wall()) {
		if err := fleet.Run(ctx, app, time.Minute); err != nil {
			return err
		}
		clock.set(fleet.Now())
		if scrape != nil {
			if err := scrape(fleet.Now()); err != nil {
				return err
			}
		}
	}
	clock.set(fleet.Now())
	return nil
}

// scrapeGate writes the gate's own patchgate_* series into the demo's
// TSDB at t, as the Prometheus that scrapes /metrics would: the lifecycle
// series (time to deploy, rollbacks, exposure) the report and dashboards
// read are there, not only on /metrics.
func scrapeGate(ctx context.Context, g prometheus.Gatherer, app sim.Appender, t time.Time) error {
	mfs, err := g.Gather()
	if err != nil {
		return fmt.Errorf("gathering the gate's metrics: %w", err)
	}
	var samples []metricsource.Sample
	add := func(name string, m *dto.Metric, v float64, extra ...string) {
		l := map[string]string{"__name__": name, "job": "patchgate", "instance": "demo"}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		samples = append(samples, metricsource.Sample{Labels: l, T: t, V: v})
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "patchgate_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, m, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, m, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					add(name+"_bucket", m, float64(b.GetCumulativeCount()), "le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64))
				}
				add(name+"_bucket", m, float64(h.GetSampleCount()), "le", "+Inf")
				add(name+"_count", m, float64(h.GetSampleCount()))
				add(name+"_sum", m, h.GetSampleSum())
			}
		}
	}
	return app.Append(ctx, samples)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	serve := fs.Bool("serve", false, "keep serving the API after the rollouts end")
	listen := fs.String("listen", "127.0.0.1:0", "listen address of the API")
	speed := fs.Float64("speed", 1.5, "simulated minutes per real second")
	keep := fs.Bool("keep", false, "keep the temporary folder (TSDB and SQLite audit log)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *speed <= 0 {
		return fmt.Errorf("--speed must be positive")
	}
	dir, err := os.MkdirTemp("", "patchgate-demo-")
	if err != nil {
		return err
	}
	if !*keep && !*serve {
		defer os.RemoveAll(dir)
	}

	cfg, err := config.Parse("demo.yaml", demoConfig)
	if err != nil {
		return fmt.Errorf("the demo's own configuration is invalid: %w", err)
	}
	token := randomToken()
	cfg.Tokens = []config.Token{{Name: "demo", Value: token, Scopes: []string{config.ScopeAdmin}}}
	cfg.Store = config.Store{Driver: "sqlite", DSN: filepath.Join(dir, "patchgate.db")}

	fleet, err := sim.New(sim.Config{
		Clusters: []string{"eu-west-1", "us-east-1", "ap-south-1"},
		Services: []sim.ServiceSpec{
			{Name: "checkout", HostsPerCluster: 30, RequestsPerSecond: 3000, ErrorRate: 0.005},
			{Name: "payments", HostsPerCluster: 20, RequestsPerSecond: 2400, ErrorRate: 0.003},
			{Name: "search", HostsPerCluster: 40, RequestsPerSecond: 1200, ErrorRate: 0.0005,
				Latency: &sim.Latency{Median: 0.08, P99: 0.2}},
		},
		Seed: 42,
		// The history and the rollouts end no later than now, so that
		// after them the simulated clock can follow the wall clock.
	}, time.Now().UTC().Truncate(time.Minute).Add(-2*time.Hour-demoRolloutMinutes*time.Minute))
	if err != nil {
		return err
	}
	src, err := metricsource.NewEmbedded(metricsource.EmbeddedConfig{Dir: filepath.Join(dir, "tsdb")})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "patchgate demo: %d hosts of 3 services in 3 clusters; Prometheus engine over a local TSDB and an SQLite audit log in %s\n", fleet.Hosts(), dir)
	fmt.Fprintln(stdout, "simulating 2 hours of history...")
	if err := fleet.Run(ctx, src, 2*time.Hour); err != nil {
		return err
	}
	clock := &demoClock{now: fleet.Now()}
	a, err := newApp(ctx, cfg, appOptions{source: src, now: clock.Now, logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	sctx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	served := make(chan error, 1)
	go func() { served <- serveHTTP(sctx, ln, a.Handler(), io.Discard, serveTimeouts(0), nil) }()

	stages := []sim.Stage{{Name: "canary", Share: 0.05}, {Name: "25pct", Share: 0.25}, {Name: "50pct", Share: 0.5}, {Name: "100pct", Share: 1}}
	plans := []sim.Plan{
		{Service: "checkout", Patch: "openssl-3.0.15-CVE-2026-1234", ErrorRate: 0.005, Stages: stages},
		{Service: "payments", Patch: "kernel-6.1.119", ErrorRate: 0.025, Stages: stages},
		// Errors stay at 0.05%; the 99th percentile goes from 200ms to 600ms.
		{Service: "search", Patch: "glibc-2.36-9", ErrorRate: 0.0005, LatencyP99: 0.6, Stages: stages},
	}
	fmt.Fprintf(stdout, "rolling out %s to checkout (healthy), %s to payments (it raises errors from 0.3%% to 2.5%%)\nand %s to search (errors flat, p99 latency from 200ms to 600ms)\n\n",
		plans[0].Patch, plans[1].Patch, plans[2].Patch)
	fleet.SetSeverity(plans[0].Patch, "critical")
	fleet.SetSeverity(plans[1].Patch, "high")
	fleet.SetSeverity(plans[2].Patch, "medium")
	rollouts, err := sim.NewRollouts(ctx, fleet, plans...)
	if err != nil {
		return err
	}
	client := &server.Client{URL: url, Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
	log := &demoEvents{client: client, severity: map[string]string{plans[0].Patch: "critical", plans[1].Patch: "high", plans[2].Patch: "medium"}}
	for _, p := range plans {
		// The patches were found two days ago and tested since.
		now := fleet.Now()
		if err := log.post(ctx, p.Patch, "discovered", p.Service, "", now.Add(-40*time.Hour)); err != nil {
			return err
		}
		if err := log.post(ctx, p.Patch, "tested", p.Service, "", now.Add(-6*time.Hour)); err != nil {
			return err
		}
		if err := log.post(ctx, p.Patch, "stage_started", p.Service, p.Stages[0].Name, now); err != nil {
			return err
		}
	}
	scanned, err := importDemoScan(ctx, client, fleet.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported a Trivy report of %s (%s): %d findings, %d fixes to roll out (%d findings without one); the report lists their CVEs as open\n\n",
		scanned.Service, scanned.Reports[0].Asset, scanned.Reports[0].Findings, scanned.Patches, scanned.Unfixed)
	ask := func(ctx context.Context, service, patch, stage string, startedAt time.Time) (sim.Answer, error) {
		d, err := client.Gate(ctx, gate.Request{Service: service, PatchID: patch, Stage: stage,
			Params: map[string]string{gate.ParamStageStartedAt: startedAt.Format(time.RFC3339)}})
		if err != nil {
			return sim.Answer{}, err
		}
		return sim.Answer{Verdict: string(d.Decision), Reason: d.Reason, ID: d.ID}, nil
	}

	tick := time.NewTicker(time.Duration(float64(time.Second) / *speed))
	defer tick.Stop()
	counts := map[string]int{}
	start := fleet.Now()
	for minute := 1; !rollouts.Done() && minute <= demoRolloutMinutes; minute++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := fleet.Run(ctx, src, time.Minute); err != nil {
			return err
		}
		clock.set(fleet.Now())
		events, err := rollouts.Tick(ctx, fleet, ask)
		if err != nil {
			return err
		}
		if err := scrapeGate(ctx, a.reg, src, fleet.Now()); err != nil {
			return err
		}
		for _, ev := range events {
			counts[ev.Answer.Verdict]++
			fmt.Fprintf(stdout, "%s  %-8s %-28s %-6s %-5s %s\n", ev.Time.Format("15:04"), ev.Service, ev.Patch, ev.Stage,
				strings.ToUpper(ev.Answer.Verdict), shorten(ev.Answer.Reason, 150))
			if ev.Action != "waiting" {
				fmt.Fprintf(stdout, "       → %s %s\n", ev.Service, ev.Action)
				if err := log.action(ctx, ev); err != nil {
					return err
				}
			}
		}
		fmt.Fprintf(stdout, "       [minute %d: %s; %d go, %d no_go, %d wait]\n", minute, progress(rollouts, fleet),
			counts["go"], counts["no_go"], counts["wait"])
	}
	elapsed := fleet.Now().Sub(start)
	res, err := a.store.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ndone: %s of simulated time; %d decisions recorded in the audit log, hash chain intact: %v\n",
		elapsed, res.Rows, res.OK)
	for _, s := range sortedKeys(rollouts.Outcomes()) {
		fmt.Fprintf(stdout, "  %-9s %s\n", s, rollouts.Outcomes()[s])
	}
	if err := demoBacktest(ctx, stdout, a.store, src, cfg, start, fleet.Now()); err != nil {
		return err
	}
	if !*serve {
		stopServing()
		<-served
		return nil
	}
	// The rollouts ran at --speed in the past; catch up with the wall clock
	// and keep to it, so the report's period keeps covering them.
	scrape := func(t time.Time) error { return scrapeGate(ctx, a.reg, src, t) }
	fmt.Fprintln(stdout, "\ncatching up with the wall clock...")
	if err := followWall(ctx, fleet, src, clock, time.Now, scrape); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nserving the gate API at %s (Ctrl-C to stop); from now on the simulated clock is the wall clock\n  token: %s\n", url, token)
	fmt.Fprintf(stdout, "  try:   curl -s -H 'Authorization: Bearer %s' '%s/v1/decisions?service=payments'\n", token, url)
	fmt.Fprintf(stdout, "         patchgate check --server %s --token %s --service checkout --patch p-1 --stage canary\n", url, token)
	fmt.Fprintf(stdout, "  files: %s\n", dir)
	printUIURLs(stdout, url)
	// Keep the simulated fleet running so new asks see fresh data.
	wall := time.NewTicker(5 * time.Second)
	defer wall.Stop()
	for {
		select {
		case <-ctx.Done():
			stopServing()
			return <-served
		case err := <-served:
			return err
		case <-wall.C:
			if err := followWall(ctx, fleet, src, clock, time.Now, scrape); err != nil {
				return err
			}
		}
	}
}

// demoScan is a Trivy report of the search image (trivy image -f json),
// with its advisories' publication dates left as @placeholders@.
//
//go:embed demo-trivy.json
var demoScan string

// importDemoScan imports demoScan through POST /v1/scans, as `patchgate
// import scan` does, with publication dates relative to now: one CVE past
// the 14-day exposure target, others within it.
func importDemoScan(ctx context.Context, client *server.Client, now time.Time) (server.ScanAnswer, error) {
	day := 24 * time.Hour
	at := func(d time.Duration) string { return now.Add(-d).UTC().Format(time.RFC3339) }
	report := strings.NewReplacer("@published_critical@", at(19*day), "@published_high@", at(6*day),
		"@published_medium@", at(2*day)).Replace(demoScan)
	a, err := client.ImportScan(ctx, server.ScanInput{Format: "trivy", Service: "search",
		Reports: []server.ScanReport{{Name: "search-2.8.1.trivy.json", Report: []byte(report)}}})
	if err != nil {
		return a, fmt.Errorf("importing the demo's scanner report: %w", err)
	}
	return a, nil
}

// demoEvents posts the rollouts' lifecycle events through the API, as a
// rollout tool would, so the lifecycle metrics and the report have data.
type demoEvents struct {
	client   *server.Client
	severity map[string]string
	n        int
}

func (d *demoEvents) post(ctx context.Context, patch, typ, service, stage string, at time.Time) error {
	d.n++
	_, err := d.client.Event(ctx, patch, server.EventInput{
		Type: typ, Time: at.UTC().Format(time.RFC3339), Service: service, Stage: stage,
		Severity: d.severity[patch], IdempotencyKey: fmt.Sprintf("demo-%s-%d", patch, d.n),
	})
	if err != nil {
		return fmt.Errorf("post %s event for %s: %w", typ, patch, err)
	}
	return nil
}

func (d *demoEvents) action(ctx context.Context, ev sim.Event) error {
	switch {
	case strings.HasPrefix(ev.Action, "promoted to "):
		if err := d.post(ctx, ev.Patch, "promoted", ev.Service, ev.Stage, ev.Time); err != nil {
			return err
		}
		return d.post(ctx, ev.Patch, "stage_started", ev.Service, strings.TrimPrefix(ev.Action, "promoted to "), ev.Time)
	case ev.Action == "finished":
		return d.post(ctx, ev.Patch, "deployed", ev.Service, ev.Stage, ev.Time)
	case ev.Action == "rolled back":
		return d.post(ctx, ev.Patch, "rolled_back", ev.Service, ev.Stage, ev.Time)
	}
	return nil
}

func progress(r *sim.Rollouts, f *sim.Fleet) string {
	var parts []string
	out := r.Outcomes()
	for _, s := range sortedKeys(out) {
		p, n := f.Patched(s)
		parts = append(parts, fmt.Sprintf("%s %s (%d/%d hosts patched)", s, out[s], p, n))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func randomToken() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}

// demoStrictMargin is the stricter error_delta margin the demo's backtest
// replays its own rollouts under.
const demoStrictMargin = "margin_pp: 0.05"

// demoBacktest replays the demo's own stages under a stricter policy
// (error_delta's margin 0.5pp → 0.05pp) and prints where the answers
// differ: what a platform team would do before tightening a policy.
func demoBacktest(ctx context.Context, stdout io.Writer, st stageRecords, src gate.Querier, cfg *config.Config, from, to time.Time) error {
	stages, err := storedStages(ctx, st, from, to)
	if err != nil {
		return err
	}
	strict, err := config.Parse("demo-strict.yaml", bytes.ReplaceAll(demoConfig, []byte("margin_pp: 0.5"), []byte(demoStrictMargin)))
	if err != nil {
		return fmt.Errorf("the demo's strict policy is invalid: %w", err)
	}
	now := func() time.Time { return to }
	base, errs := backtest.Run(ctx, backtest.Config{Policy: cfg, Source: src, Now: now}, stages)
	tight, strictErrs := backtest.Run(ctx, backtest.Config{Policy: strict, Source: src, Now: now}, stages)
	fmt.Fprintf(stdout, "\nbacktest: the demo's %d stages replayed under error_delta %s instead of margin_pp: 0.5\n", len(stages), demoStrictMargin)
	same := 0
	for i, s := range stages {
		if err := errors.Join(errs[i], strictErrs[i]); err != nil {
			fmt.Fprintf(stdout, "  %-8s %-6s could not be replayed: %v\n", s.Service, s.Stage, err)
			continue
		}
		a, b := base[i], tight[i]
		if a.Decision == b.Decision && a.Minute == b.Minute {
			same++
			continue
		}
		fmt.Fprintf(stdout, "  %-8s %-6s %-28s %s → %s\n", s.Service, s.Stage, s.PatchID, verdictWords(a), verdictWords(b))
	}
	fmt.Fprintf(stdout, "  %d stage(s) answered the same; `patchgate backtest` does this for any policy over past stages (docs/backtest.md)\n", same)
	return nil
}

func verdictWords(v backtest.Verdict) string {
	switch {
	case v.Decision == gate.Wait:
		return fmt.Sprintf("still waiting at minute %d, when the data ends", v.Minute)
	case v.TimedOut:
		return fmt.Sprintf("%s at max_wait (minute %d)", v.Decision, v.Minute)
	}
	return fmt.Sprintf("%s at minute %d", v.Decision, v.Minute)
}
