package config

import (
	"strings"
	"testing"
)

func TestStageDisable(t *testing.T) {
	const base = `
source: {type: embedded}
services:
  - name: web
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99}
    checks:
      error_delta: {}
      min_traffic: {requests: 10}
      freshness: {}
    stages:
      - {name: canary}
      - {name: full, disable: [DISABLE]}
`
	cfg, err := Parse("d.yml", []byte(strings.Replace(base, "DISABLE", "error_delta, min_traffic", 1)))
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := cfg.Service("web")
	full, _ := svc.Stage("full")
	canary, _ := svc.Stage("canary")
	if c := svc.EffectiveChecks(full); c.ErrorDelta != nil || c.MinTraffic != nil || c.Freshness == nil {
		t.Errorf("full stage checks = %+v, want only freshness", c)
	}
	if c := svc.EffectiveChecks(canary); c.ErrorDelta == nil || c.MinTraffic == nil {
		t.Errorf("canary stage lost its checks: %+v", c)
	}
	_, err = Parse("d.yml", []byte(strings.Replace(base, "DISABLE", "latency", 1)))
	want := `d.yml:17:32: services[0].stages[1].disable[0]: unknown check "latency"; checks are error_delta, min_traffic, burn_rate, alerts, freshness, latency_delta, promql`
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant  %s", err, want)
	}
}
