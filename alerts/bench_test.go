package alerts

import (
	"fmt"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/config"
)

// benchConfig is a configuration of n services, each with a team, an
// error_delta check and patch windows of its own.
func benchConfig(b *testing.B, n int) *config.Config {
	b.Helper()
	var s strings.Builder
	s.WriteString("source: {type: embedded}\nalerting:\n  receivers:\n    page: {webhook: {url: \"http://hook/page\"}}\n    ticket: {webhook: {url: \"http://hook/ticket\"}}\nservices:\n")
	for i := range n {
		fmt.Fprintf(&s, `  - name: svc-%d
    team: team-%d
    sli: {errors: 'sum(rate(e{s="%d"}[{{.window}}]))', total: 'sum(rate(t{s="%d"}[{{.window}}]))', canary: '{track="canary"}', baseline: '{track="baseline"}'}
    slo: {objective: 99.9}
    checks: {error_delta: {}}
    stages: [{name: canary}, {name: all, checks: {error_delta: {margin_pp: 1}}}]
    controls: {windows: [{weekdays: [mon], start: "22:00", end: "04:00", time_zone: Europe/Berlin}]}
`, i, i%50, i, i)
	}
	cfg, err := config.Parse("bench.yaml", []byte(s.String()))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkRules: the alert rules of 10,000 services (20,000 canary rules
// and 10,000 team records), written as a rules file.
func BenchmarkRules(b *testing.B) {
	cfg := benchConfig(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		res, err := Rules(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := File(res, FileConfig{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAlertmanager: the routing of 10,000 services with windows of
// their own (20,000 routes and 10,000 time intervals).
func BenchmarkAlertmanager(b *testing.B) {
	cfg := benchConfig(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Alertmanager(cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
