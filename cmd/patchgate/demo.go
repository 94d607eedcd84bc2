package main

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

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
			{Name: "search", HostsPerCluster: 40, RequestsPerSecond: 1200, ErrorRate: 0.0005},
		},
		Seed: 42,
	}, time.Now().UTC().Truncate(time.Minute).Add(-2*time.Hour))
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
	go func() { served <- serveHTTP(sctx, ln, a.server.Handler(), io.Discard, serveTimeouts(0)) }()

	stages := []sim.Stage{{Name: "canary", Share: 0.05}, {Name: "25pct", Share: 0.25}, {Name: "50pct", Share: 0.5}, {Name: "100pct", Share: 1}}
	plans := []sim.Plan{
		{Service: "checkout", Patch: "openssl-3.0.15-CVE-2026-1234", ErrorRate: 0.005, Stages: stages},
		{Service: "payments", Patch: "kernel-6.1.119", ErrorRate: 0.025, Stages: stages},
	}
	fmt.Fprintf(stdout, "rolling out %s to checkout (healthy) and %s to payments (it raises errors from 0.3%% to 2.5%%)\n\n",
		plans[0].Patch, plans[1].Patch)
	fleet.SetSeverity(plans[0].Patch, "critical")
	fleet.SetSeverity(plans[1].Patch, "high")
	rollouts, err := sim.NewRollouts(ctx, fleet, plans...)
	if err != nil {
		return err
	}
	client := &server.Client{URL: url, Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
	log := &demoEvents{client: client, severity: map[string]string{plans[0].Patch: "critical", plans[1].Patch: "high"}}
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
	for minute := 1; !rollouts.Done() && minute <= 90; minute++ {
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
	if !*serve {
		stopServing()
		<-served
		return nil
	}
	fmt.Fprintf(stdout, "\nserving the gate API at %s (Ctrl-C to stop)\n  token: %s\n", url, token)
	fmt.Fprintf(stdout, "  try:   curl -s -H 'Authorization: Bearer %s' '%s/v1/decisions?service=payments'\n", token, url)
	fmt.Fprintf(stdout, "         patchgate check --server %s --token %s --service checkout --patch p-1 --stage canary\n", url, token)
	fmt.Fprintf(stdout, "  files: %s\n", dir)
	printUIURLs(stdout, url)
	// Keep the simulated fleet running so new asks see fresh data.
	for {
		select {
		case <-ctx.Done():
			stopServing()
			return <-served
		case err := <-served:
			return err
		case <-tick.C:
			if err := fleet.Run(ctx, src, time.Minute); err != nil {
				return err
			}
			clock.set(fleet.Now())
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
