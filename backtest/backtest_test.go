package backtest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/testbed"
)

// Policy is a service whose canary track is a request parameter, so that
// stages over the same data can read different canaries.
const Policy = `
source: {type: embedded}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="{{.params.track}}"}'
      baseline: '{track="baseline"}'
    slo: {objective: 95}
    checks:
      error_delta: {margin_pp: 0.5, alpha: 0.05}
      min_traffic: {requests: 500}
      freshness: {max_age: 3m}
      burn_rate: {}
    stages:
      - {name: canary, max_wait: 20m}
`

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// Traffic is the past the tests replay: a baseline, a healthy canary, a
// regressing one, and nothing for a third.
func Traffic() []metricsource.Sample {
	from, to := t0.Add(-5*time.Minute), t0.Add(70*time.Minute)
	return testbed.Requests(
		testbed.Traffic{Service: "checkout", Track: "baseline", RPS: 1900, ErrorRatio: 0.005, From: from, To: to},
		testbed.Traffic{Service: "checkout", Track: "healthy", RPS: 100, ErrorRatio: 0.005, From: from, To: to},
		testbed.Traffic{Service: "checkout", Track: "regressing", RPS: 100, ErrorRatio: 0.03, From: from, To: to},
		testbed.Traffic{Service: "checkout", Track: "slow", RPS: 3, ErrorRatio: 0.008, From: from, To: to},
	)
}

// Stages are the past stages replayed: each track, at two starts.
func Stages() []Stage {
	var out []Stage
	for _, start := range []time.Time{t0, t0.Add(17*time.Minute + 30*time.Second)} {
		for _, track := range []string{"healthy", "regressing", "absent", "slow"} {
			out = append(out, Stage{Service: "checkout", PatchID: "p-" + track, Stage: "canary", StartedAt: start,
				Params: map[string]string{"track": track}})
		}
	}
	return out
}

func parsePolicy(t testing.TB, text string) *config.Config {
	t.Helper()
	c, err := config.Parse("policy.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Live asks the gate as serve does, once a minute from the stage's start,
// on a real SQLite store, and returns the evaluated verdict and minute of
// the first go or no_go (or the last wait).
func Live(t testing.TB, policy *config.Config, src gate.Querier, s Stage) (gate.Verdict, int, bool) {
	t.Helper()
	var clock time.Time
	e, err := gate.New(gate.Config{Policy: policy, Source: src, Store: testbed.Store(t), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{gate.ParamStageStartedAt: s.StartedAt.Format(time.RFC3339Nano)}
	for k, v := range s.Params {
		params[k] = v
	}
	svc, _ := policy.Service(s.Service)
	st, _ := svc.Stage(s.Stage)
	looks := int(time.Duration(st.MaxWait) / time.Minute)
	var (
		v        gate.Verdict
		m        int
		timedOut bool
	)
	for m = 1; m <= looks; m++ {
		clock = s.StartedAt.Add(time.Duration(m) * time.Minute)
		d, err := e.Decide(context.Background(), gate.Request{Service: s.Service, PatchID: s.PatchID, Stage: s.Stage, Params: params})
		if err != nil {
			t.Fatal(err)
		}
		v, timedOut = d.Evaluated(), d.Outcome != ""
		if v != gate.Wait {
			break
		}
	}
	return v, min(m, looks), timedOut
}

// The backtest gives, for every stage, the verdict and minute the live
// gate gives when asked once a minute over the same data, in enforce and
// shadow mode.
func TestBacktestMatchesLiveGate(t *testing.T) {
	src := testbed.Source(t, Traffic()...)
	for _, mode := range []string{"enforce", "shadow"} {
		t.Run(mode, func(t *testing.T) {
			policy := parsePolicy(t, strings.Replace(Policy, "max_wait: 20m}", "max_wait: 20m, mode: "+mode+"}", 1))
			stages := Stages()
			got, errs := Run(context.Background(), Config{Policy: policy, Source: src, Now: func() time.Time { return t0.Add(3 * time.Hour) }}, stages)
			want := map[string]gate.Verdict{"healthy": gate.Go, "regressing": gate.NoGo, "absent": gate.NoGo, "slow": gate.NoGo}
			for i, s := range stages {
				if errs[i] != nil {
					t.Fatalf("%s: %v", s.PatchID, errs[i])
				}
				v := got[i]
				lv, lm, lto := Live(t, policy, src, s)
				if v.Decision != lv || v.Minute != lm || v.TimedOut != lto {
					t.Errorf("%s from %s: backtest %s at minute %d (timed out %v), live gate %s at minute %d (timed out %v)",
						s.PatchID, s.StartedAt.Format("15:04:05"), v.Decision, v.Minute, v.TimedOut, lv, lm, lto)
				}
				if v.Decision != want[s.Params["track"]] || v.Mode != mode {
					t.Errorf("%s: %s in %s mode, want %s in %s mode (%s)", s.PatchID, v.Decision, v.Mode, want[s.Params["track"]], mode, v.Reason)
				}
				if len(v.Timeline) != v.Minute {
					t.Errorf("%s: timeline of %d looks for a decision at minute %d", s.PatchID, len(v.Timeline), v.Minute)
				}
			}
		})
	}
}

// Missing data is a wait to the end: timed out, never go.
func TestBacktestMissingDataTimesOut(t *testing.T) {
	src := testbed.Source(t, Traffic()...)
	policy := parsePolicy(t, strings.Replace(Policy, "max_wait: 20m}", "max_wait: 20m, on_timeout: go}", 1))
	s := Stage{Service: "checkout", PatchID: "p", Stage: "canary", StartedAt: t0, Params: map[string]string{"track": "absent"}}
	got, errs := Run(context.Background(), Config{Policy: policy, Source: src}, []Stage{s})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	v := got[0]
	if v.Decision != gate.NoGo || !v.TimedOut || v.Minute != 20 {
		t.Fatalf("%s at minute %d (timed out %v), want the policy's answer at max_wait, never go for want of data: %s", v.Decision, v.Minute, v.TimedOut, v.Reason)
	}
	for m, tv := range v.Timeline[:19] {
		if tv != gate.Wait {
			t.Fatalf("minute %d: %s before max_wait on absent data", m+1, tv)
		}
	}
}

// A stage the policy does not have, or a request the gate refuses, is that
// stage's error; the others still run.
func TestBacktestBadStages(t *testing.T) {
	src := testbed.Source(t, Traffic()...)
	policy := parsePolicy(t, Policy)
	stages := []Stage{
		{Service: "nope", PatchID: "p", Stage: "canary", StartedAt: t0},
		{Service: "checkout", PatchID: "p", Stage: "nope", StartedAt: t0},
		{Service: "checkout", PatchID: "p", Stage: "canary", StartedAt: t0}, // no track parameter
		{Service: "checkout", PatchID: "p", Stage: "canary", StartedAt: t0, Params: map[string]string{"track": "healthy"}},
	}
	got, errs := Run(context.Background(), Config{Policy: policy, Source: src}, stages)
	var nf *gate.NotFoundError
	var fe *gate.FieldError
	if !errors.As(errs[0], &nf) || nf.Field != "service" || !errors.As(errs[1], &nf) || nf.Field != "stage" {
		t.Errorf("unknown service and stage: %v, %v", errs[0], errs[1])
	}
	if !errors.As(errs[2], &fe) || fe.Field != "params.track" {
		t.Errorf("missing selector parameter: %v", errs[2])
	}
	if errs[3] != nil || got[3].Decision != gate.Go {
		t.Errorf("the good stage: %v %+v", errs[3], got[3])
	}
}

// The backtest fetches each distinct query once per stage, as a range
// query, not once a minute per check.
func TestPrefetchRangeQueriesOnly(t *testing.T) {
	src := testbed.Source(t, Traffic()...)
	counting := &countingSource{Querier: src}
	policy := parsePolicy(t, Policy)
	s := Stage{Service: "checkout", PatchID: "p", Stage: "canary", StartedAt: t0, Params: map[string]string{"track": "absent"}}
	got, errs := Run(context.Background(), Config{Policy: policy, Source: counting}, []Stage{s})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	if n := counting.instant.Load(); n != 0 {
		t.Errorf("%d instant queries over %d looks, want none", n, got[0].Minute)
	}
	// 4 per-minute counts, 2 freshness, 2 for each of the 5 burn-rate
	// windows (1h, 5m, 6h, 30m and the 30d period) over the looks, and
	// error_delta's 2 baseline queries over the hour before the stage.
	if n := counting.ranges.Load(); int(n) != got[0].Queries+2 || n != 18 {
		t.Errorf("%d range queries (%d over the looks) for %d looks, want 18: one per distinct query", n, got[0].Queries, got[0].Minute)
	}
}

type countingSource struct {
	gate.Querier
	instant, ranges atomic.Int64
}

func (c *countingSource) Query(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	c.instant.Add(1)
	return c.Querier.Query(ctx, q, ts)
}

func (c *countingSource) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	c.ranges.Add(1)
	return c.Querier.QueryRange(ctx, q, start, end, step)
}
