package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/gate/stats"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/store"
)

// policy is the configuration every gate in the benchmark runs under: the
// error_delta check alone, with its defaults (margin 0.5pp, α = 0.05,
// group-sequential over max_wait 60m = 60 looks). Each stage's counters carry
// its own stage_id label, selected through the patch id.
const policy = `
source: {type: embedded}
services:
  - name: bench
    sli:
      errors: sum(rate(http_requests_total{service="bench",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="bench"}[{{.window}}]))
      canary: '{track="canary",stage_id="{{.patch_id}}"}'
      baseline: '{track="baseline",stage_id="{{.patch_id}}"}'
    slo: {objective: 99}
    checks:
      error_delta: {}
    stages:
      - {name: canary, max_wait: 60m}
`

// engineStart is where every simulated stage's window starts.
var engineStart = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// engineReport says whether the gate engine, asked every minute over the
// embedded PromQL engine, decided every sampled stage as the simulation's
// direct stats.Test.Evaluate did.
type engineReport struct {
	stages, looks int
	// priorLooks are the looks that pooled the hour before the stage into
	// φ̂ (the engine read it from the TSDB, the simulation from the stage).
	priorLooks int
	mismatches []string
}

// loadPolicy parses the benchmark's policy and returns it with its
// error_delta check.
func loadPolicy() (*config.Config, config.ErrorDelta, error) {
	cfg, checks, err := parseBenchPolicy("benchquality.yaml", policy)
	if err != nil {
		return nil, config.ErrorDelta{}, err
	}
	if checks.ErrorDelta == nil {
		return nil, config.ErrorDelta{}, fmt.Errorf("the benchmark policy has no error_delta check")
	}
	return cfg, *checks.ErrorDelta, nil
}

// parseBenchPolicy parses a benchmark policy and returns it with the
// checks of its one stage (service bench, stage canary), whose max_wait
// must be the simulation's horizon.
func parseBenchPolicy(name, text string) (*config.Config, config.Checks, error) {
	cfg, err := config.Parse(name, []byte(text))
	if err != nil {
		return nil, config.Checks{}, err
	}
	svc, ok := cfg.Service("bench")
	if !ok {
		return nil, config.Checks{}, fmt.Errorf("%s has no service bench", name)
	}
	st, ok := svc.Stage("canary")
	if !ok {
		return nil, config.Checks{}, fmt.Errorf("%s has no stage canary", name)
	}
	if k := int(time.Duration(st.MaxWait) / time.Minute); k != horizon {
		return nil, config.Checks{}, fmt.Errorf("%s: max_wait is %d minutes, the simulation's horizon %d", name, k, horizon)
	}
	return cfg, svc.EffectiveChecks(st), nil
}

// engineCheck writes each sampled stage's counts as Prometheus counters
// into an embedded TSDB, asks a gate.Engine every minute (as a rollout tool
// would) and compares its error_delta verdict at every look with
// Evaluate's on the same minutes, until the stage is decided.
func engineCheck(ctx context.Context, dir string, cfg *config.Config, ed config.ErrorDelta, sample []*stage) (engineReport, error) {
	var samples []metricsource.Sample
	ids := make([]string, len(sample))
	for i, s := range sample {
		samples = append(samples, counters(s)...)
		ids[i] = stageID(s)
	}
	test := errorDeltaTest(ed, horizon)
	return askEveryMinute(ctx, dir, cfg, samples, ids, "error_delta", func(rep *engineReport, i, k int, c gate.CheckResult) bool {
		s := sample[i]
		want := withHistory(test, s.history).Evaluate(s.minutes[:k], k)
		if got, exp := c.Verdict, checkVerdict(want.Outcome); got != exp {
			rep.mismatches = append(rep.mismatches, fmt.Sprintf("%s look %d: engine %s (%s), Evaluate %s", s, k, got, c.Sentence, want.Outcome))
			return false
		}
		if got := c.Details["canary_total"]; math.Abs(got-want.CanaryTotal) > 1e-6*math.Max(1, want.CanaryTotal) {
			rep.mismatches = append(rep.mismatches, fmt.Sprintf("%s look %d: engine read %v canary requests, simulated %v", s, k, got, want.CanaryTotal))
			return false
		}
		if got := c.Details["prior_df"]; math.Abs(got-want.PriorDF) > 1e-6*math.Max(1, want.PriorDF) {
			rep.mismatches = append(rep.mismatches, fmt.Sprintf("%s look %d: engine pooled a prior of %v degrees of freedom from the hour before the stage, simulated %v", s, k, got, want.PriorDF))
			return false
		}
		if want.PriorDF > 0 {
			rep.priorLooks++
		}
		return true
	})
}

// askEveryMinute writes samples into an embedded TSDB and asks a
// gate.Engine about each stage (patch ids ids) once a minute, as a rollout
// tool would, handing compare the named check's result at every look
// until the stage is decided or compare returns false (a mismatch).
func askEveryMinute(ctx context.Context, dir string, cfg *config.Config, samples []metricsource.Sample, ids []string, check string,
	compare func(rep *engineReport, stage, look int, c gate.CheckResult) bool) (engineReport, error) {
	src, err := metricsource.NewEmbedded(metricsource.EmbeddedConfig{Dir: filepath.Join(dir, "tsdb")})
	if err != nil {
		return engineReport{}, err
	}
	defer src.Close()
	st, err := store.Open(ctx, "sqlite", filepath.Join(dir, "gate.db"))
	if err != nil {
		return engineReport{}, err
	}
	defer st.Close()
	if err := src.Append(ctx, samples); err != nil {
		return engineReport{}, fmt.Errorf("write the stages' series: %w", err)
	}
	now := engineStart
	e, err := gate.New(gate.Config{Policy: cfg, Source: src, Store: st, Now: func() time.Time { return now }})
	if err != nil {
		return engineReport{}, err
	}
	rep := engineReport{stages: len(ids)}
	for i, id := range ids {
		req := gate.Request{Service: "bench", PatchID: id, Stage: "canary",
			Params: map[string]string{gate.ParamStageStartedAt: engineStart.Format(time.RFC3339)}}
		for k := 1; k <= horizon; k++ {
			now = engineStart.Add(time.Duration(k)*time.Minute + 30*time.Second)
			d, err := e.Decide(ctx, req)
			if err != nil {
				return rep, fmt.Errorf("%s look %d: %w", id, k, err)
			}
			rep.looks++
			var c gate.CheckResult
			for _, r := range d.Checks {
				if r.Name == check {
					c = r
				}
			}
			if !compare(&rep, i, k, c) || c.Verdict != gate.Inconclusive {
				break
			}
		}
	}
	return rep, nil
}

func checkVerdict(o stats.Outcome) gate.CheckVerdict {
	switch o {
	case stats.Regression:
		return gate.Fail
	case stats.NoRegression:
		return gate.Pass
	}
	return gate.Inconclusive
}

func stageID(s *stage) string { return fmt.Sprintf("%s-%d-%d", s.family, s.seed, s.index) }

// counterBase is where every counter starts, so that rate() extrapolates
// the first minute in full as it does every other.
const counterBase = 1000

// counters turns a stage's per-minute counts into http_requests_total
// counters (code 200 and 500, per track) scraped every 15 s from the start
// of the window, each minute's requests spread evenly over its four
// scrapes: rate(...[1m])*60 at the end of minute m then gives minute m's
// count exactly.
func counters(s *stage) []metricsource.Sample {
	id := stageID(s)
	type series struct {
		track, code string
		per         func(m stats.Minute) float64
	}
	all := []series{
		{"canary", "200", func(m stats.Minute) float64 { return m.CanaryTotal - m.CanaryErrors }},
		{"canary", "500", func(m stats.Minute) float64 { return m.CanaryErrors }},
		{"baseline", "200", func(m stats.Minute) float64 { return m.BaselineTotal - m.BaselineErrors }},
		{"baseline", "500", func(m stats.Minute) float64 { return m.BaselineErrors }},
	}
	out := make([]metricsource.Sample, 0, len(all)*(4*(len(s.history)+len(s.minutes))+1))
	for _, sr := range all {
		labels := map[string]string{"__name__": "http_requests_total", "service": "bench", "stage_id": id, "track": sr.track, "code": sr.code}
		v := float64(counterBase)
		// The baseline served the hour before the stage alone.
		begin := engineStart
		if sr.track == "baseline" {
			begin = engineStart.Add(-time.Duration(len(s.history)) * time.Minute)
		}
		out = append(out, metricsource.Sample{Labels: labels, T: begin, V: v})
		if sr.track == "baseline" {
			for i, m := range s.history {
				step := sr.per(m) / 4
				for q := 1; q <= 4; q++ {
					v += step
					out = append(out, metricsource.Sample{Labels: labels, T: begin.Add(time.Duration(i)*time.Minute + time.Duration(q)*15*time.Second), V: v})
				}
			}
		}
		for i, m := range s.minutes {
			step := sr.per(m) / 4
			for q := 1; q <= 4; q++ {
				v += step
				t := engineStart.Add(time.Duration(i)*time.Minute + time.Duration(q)*15*time.Second)
				out = append(out, metricsource.Sample{Labels: labels, T: t, V: v})
			}
		}
	}
	return out
}
