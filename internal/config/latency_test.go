package config

import (
	"path/filepath"
	"testing"
	"time"
)

// TestLatencyAndPromQLChecks reads the example checks: defaults fill what
// the file leaves out, and a stage's disable switches both off.
func TestLatencyAndPromQLChecks(t *testing.T) {
	c, err := Load(filepath.Join(configDir, "checks.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := c.Service("checkout")
	canary, _ := svc.Stage("canary")
	got := svc.EffectiveChecks(canary)
	want := LatencyDelta{Histogram: "http_request_duration_seconds", Selector: `{service="checkout"}`, Threshold: 0.5, MarginPP: 1, Alpha: 0.05, Method: MethodPocock}
	if got.LatencyDelta == nil || *got.LatencyDelta != want {
		t.Errorf("latency_delta = %+v, want %+v", got.LatencyDelta, want)
	}
	if len(got.PromQL) != 3 {
		t.Fatalf("promql: %d checks, want 3", len(got.PromQL))
	}
	mem, restarts := got.PromQL[0], got.PromQL[1]
	if mem.By != ByRatio || mem.Window != Duration(time.Minute) || mem.ConsecutiveSuccesses != 1 || mem.FailureLimit != 0 || *mem.Below != 1.2 || mem.Above != nil {
		t.Errorf("memory check with defaults: %+v", mem)
	}
	if restarts.By != "" || restarts.Window != Duration(5*time.Minute) {
		t.Errorf("restarts check: %+v", restarts)
	}
	full, _ := svc.Stage("full")
	if f := svc.EffectiveChecks(full); f.LatencyDelta != nil || f.PromQL != nil {
		t.Errorf("full stage disables latency_delta and promql, got %+v, %+v", f.LatencyDelta, f.PromQL)
	}

	// Defaults when only the required fields are written.
	d, err := Parse("d.yml", []byte(`
source: {type: embedded}
services:
  - name: s
    sli:
      errors: sum(rate(e[{{.window}}]))
      total: sum(rate(t[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99}
    checks:
      latency_delta: {histogram: h_seconds, selector: '{job="s"}', threshold: 0.25}
      promql: [{name: q, query: up, compare: baseline, above: 0.5}]
    stages: [{name: canary}]
`))
	if err != nil {
		t.Fatal(err)
	}
	ld := d.Services[0].Checks.LatencyDelta
	if ld.MarginPP != DefaultLatencyDeltaMarginPP || ld.Alpha != DefaultLatencyDeltaAlpha || ld.Method != DefaultLatencyDeltaMethod {
		t.Errorf("latency_delta defaults: %+v", ld)
	}
	if q := d.Services[0].Checks.PromQL[0]; q.By != ByRatio || q.Window != DefaultPromQLWindow || q.ConsecutiveSuccesses != 1 {
		t.Errorf("promql defaults: %+v", q)
	}
}
