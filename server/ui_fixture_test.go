package server

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/report"
	"github.com/patchgate/patchgate/report/reporttest"
)

// uiNow is the clock of the UI tests.
var uiNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// IDs of the fixture's decisions.
const (
	decOpensslCanary = "dec-openssl-canary"
	decOpenssl25     = "dec-openssl-25pct"
	decKernelNoGo    = "dec-kernel-canary"
	decGlibc100      = "dec-glibc-100pct"
	decZlibWait      = "dec-zlib-canary"
	decOld           = "dec-old"
)

func fp(v float64) *float64 { return &v }

// uiPolicy names the services and their stages.
func uiPolicy() *config.Config {
	stages := []config.Stage{{Name: "canary"}, {Name: "25pct"}, {Name: "100pct"}}
	return &config.Config{Services: []config.Service{
		{Name: "checkout", Stages: stages}, {Name: "payments", Stages: stages}, {Name: "search", Stages: stages},
	}}
}

// fixtureDecision is a recorded decision; extra adds top-level fields to
// its JSON body (an override, say).
func fixtureDecision(id, service, patch, stage string, verdict gate.Verdict, at time.Time, reason string, checks []gate.CheckResult, extra map[string]any) store.Decision {
	d := gate.Decision{ID: id, Decision: verdict, Reason: reason, Checks: checks, Service: service, PatchID: patch,
		Stage: stage, Attempt: "1", EvaluatedAt: at, PolicyRevision: "3f1c2a9e0b7d",
		Window: gate.Window{Start: at.Add(-6 * time.Minute), StartSource: "request", End: at, Look: 6, Looks: 30}}
	if verdict == gate.Wait {
		d.RetryAfterSeconds = 60
	}
	body, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	if extra != nil {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		for k, v := range extra {
			m[k] = v
		}
		body, _ = json.Marshal(m)
	}
	return store.Decision{ID: id, Service: service, PatchID: patch, Stage: stage, Attempt: "1",
		Verdict: string(verdict), EvaluatedAt: at, Body: body}
}

// noGoChecks are the kernel patch's checks, as the gate writes them:
// error_delta fails.
func noGoChecks() []gate.CheckResult {
	return []gate.CheckResult{
		{Name: "freshness", Verdict: gate.Pass, Queries: []string{`timestamp(http_requests_total{service="payments",track="canary"})`},
			Sentence: "canary and baseline series are fresh (newest sample 12s old)"},
		{Name: "min_traffic", Verdict: gate.Pass, Observed: fp(21548.3), Threshold: fp(1000), Unit: "requests",
			Queries:  []string{`(sum(rate(http_requests_total{service="payments",track="canary"}[1m]))) * 60`},
			Sentence: "the canary served 21,548 requests in 6 minute(s), at least the 1,000 required"},
		{Name: "error_delta", Verdict: gate.Fail, Observed: fp(2.302), Threshold: fp(0.5), Unit: "percentage points",
			Queries: []string{
				`(sum(rate(http_requests_total{service="payments",track="canary"}[1m]))) * 60`,
				`(sum(rate(http_requests_total{code=~"5..",service="payments",track="canary"}[1m]))) * 60`,
				`(sum(rate(http_requests_total{service="payments",track="baseline"}[1m]))) * 60`,
				`(sum(rate(http_requests_total{code=~"5..",service="payments",track="baseline"}[1m]))) * 60`,
			},
			Sentence: "canary 2.61% errors (561 of 21,548) against baseline 0.30% (1,243 of 410,889): +2.30 pp, beyond the 0.5 pp margin, " +
				"over 11:49–11:55 (6 min); sequential test at look 6 of 30: Z 11.68, no_go at Z ≥ 2.74, go at Z ≤ −2.67",
			Details: map[string]float64{"canary_total": 21548.3, "canary_errors": 561.3, "baseline_total": 410889, "baseline_errors": 1242.7,
				"s": 369.043, "v": 998.267, "z": 11.68, "v_bin": 165.515, "v_emp": 54.47, "emp_factor": 18.33, "bound": 2.666,
				"no_go_bound": 2.738, "go_bound": 2.666, "gamma": 0.071, "alpha": 0.05, "margin": 0.005, "look": 6, "looks": 30}},
		{Name: "burn_rate", Verdict: gate.Pass, Observed: fp(0.8), Threshold: fp(14.4), Unit: "× budget burn",
			Sentence: "the error budget burn is within every window pair's limit; 1h/5m burning 0.80×/1.20× against a limit of 14.4×; " +
				"6h/30m burning 0.50×/0.70× against a limit of 6×",
			Details: map[string]float64{"burn_1h": 0.8, "burn_5m": 1.2, "burn_6h": 0.5, "burn_30m": 0.7, "limit_1h_5m": 14.4, "limit_6h_30m": 6}},
	}
}

// fillUIStore records the fixture: two rollouts in progress, one promoted
// through its last stage, one rolled back, one too old to list, an
// override in force.
func fillUIStore(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	pass := []gate.CheckResult{{Name: "error_delta", Verdict: gate.Pass, Observed: fp(-0.02), Threshold: fp(0.5), Unit: "percentage points",
		Queries: []string{`(sum(rate(http_requests_total{service="checkout",track="canary"}[1m]))) * 60`}, Sentence: "no regression beyond 0.50pp"}}
	wait := []gate.CheckResult{{Name: "min_traffic", Verdict: gate.Inconclusive, Observed: fp(800), Threshold: fp(2000), Unit: "requests",
		Queries: []string{`sum(increase(http_requests_total{track="canary"}[6m]))`}, Sentence: "1,200 more canary requests needed"}}
	for _, d := range []store.Decision{
		fixtureDecision(decOld, "checkout", "old-patch", "canary", gate.Go, uiNow.Add(-10*24*time.Hour), "all checks passed", pass, nil),
		fixtureDecision(decOpensslCanary, "checkout", "openssl-3.0.15", "canary", gate.Go, uiNow.Add(-50*time.Minute), "all checks passed", pass, nil),
		fixtureDecision(decZlibWait, "payments", "zlib-1.3.1", "canary", gate.Wait, uiNow.Add(-40*time.Minute), "min_traffic inconclusive", wait, nil),
		fixtureDecision(decGlibc100, "search", "glibc-2.36-9", "100pct", gate.Go, uiNow.Add(-30*time.Minute), "all checks passed <script>alert(1)</script>", pass,
			map[string]any{
				"override": gate.OverrideInfo{ID: "ovr-1", Actor: "alice", Reason: "CAB-1234 approved <b>now</b>",
					ExpiresAt: uiNow.Add(2 * time.Hour), BypassedChecks: []string{"burn_rate"}},
				// A field this page does not know yet is still shown.
				"admission": map[string]any{"slot": 3, "cluster": "eu-west-1"},
			}),
		fixtureDecision(decOpenssl25, "checkout", "openssl-3.0.15", "25pct", gate.Wait, uiNow.Add(-10*time.Minute), "min_traffic inconclusive: 1,200 more canary requests needed", wait, nil),
		fixtureDecision(decKernelNoGo, "payments", "kernel-6.1.119", "canary", gate.NoGo, uiNow.Add(-5*time.Minute),
			"error_delta failed: canary 2.61% errors (561 of 21,548) against baseline 0.30% (1,243 of 410,889): +2.30 pp, beyond the 0.5 pp margin, "+
				"over 11:49–11:55 (6 min); sequential test at look 6 of 30: Z 11.68, no_go at Z ≥ 2.74, go at Z ≤ −2.67", noGoChecks(), nil),
	} {
		if _, err := st.AppendDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := st.AppendEvent(ctx, store.Event{PatchID: "zlib-1.3.1", Type: store.EventRolledBack, Service: "payments",
		Time: uiNow.Add(-20 * time.Minute), IdempotencyKey: "rb-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateOverride(ctx, store.Override{Service: "search", PatchID: "glibc-2.36-9", Verdict: "go",
		Reason: "CAB-1234 approved", Actor: "alice", CreatedAt: uiNow.Add(-time.Hour), ExpiresAt: uiNow.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// uiServer is a server over a real SQLite store filled with the fixture;
// the coverage report is the fixed one of reporttest.
type uiServer struct {
	*Server
	store store.Store
	// periods records the periods the report was asked for.
	periods []time.Duration
}

func newUIServer(t testing.TB, change ...func(*Config)) *uiServer {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "ui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fillUIStore(t, st)
	us := &uiServer{store: st}
	cfg := Config{
		Gate: knownServiceGate(gate.Go), Decisions: st, Operator: st, Policy: uiPolicy(),
		Tokens: testTokens(), Registry: prometheus.NewRegistry(), Now: func() time.Time { return uiNow },
		UI: UIConfig{
			Controls: st,
			Report: func(_ context.Context, period time.Duration) (*report.Report, error) {
				us.periods = append(us.periods, period)
				return reporttest.Report(), nil
			},
		},
	}
	for _, f := range change {
		f(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.handler = validating(t, s.echo)
	us.Server = s
	return us
}
