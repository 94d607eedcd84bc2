package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An offline validation is what CI runs on a config whose secrets live only
// in the cluster: token variables and files may be missing, everything else
// is checked, the SLO spec files' content included.
func TestConfigValidateOffline(t *testing.T) {
	const service = `
source: {type: prometheus, url: "http://prometheus:9090"}
store: {driver: postgres, dsn_env: PATCHGATE_TEST_UNSET_DSN}
tokens:
  - {name: argo, token_env: PATCHGATE_TEST_UNSET_TOKEN, scopes: [gate]}
  - {name: ci, token_file: missing-token.txt, scopes: [gate, events]}
services:
  - name: payments
    sli:
      errors: sum(rate(http_requests_total{service="payments",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="payments"}[{{.window}}]))
    slo: {objective: 99.9, specs: [SPEC]}
    checks: {burn_rate: {}}
    stages: [{name: canary}]
`
	const goodSpec = `version: "prometheus/v1"
service: payments
slos:
  - name: latency
    objective: 99
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{service="payments",le="+Inf"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{service="payments"}[{{.window}}]))
    alerting: {name: PaymentsLatency, page_alert: {disable: true}, ticket_alert: {disable: true}}
`
	badSpec := strings.Replace(goodSpec, "objective: 99", "objective: 120", 1)
	tests := []struct {
		name      string
		spec      string // content of the SLO spec file; "" leaves it out
		args      []string
		code      int
		want      []string
		dontWant  []string
		setSecret bool
	}{
		{
			name: "secrets unset are fine offline",
			spec: goodSpec, args: []string{"--offline"}, code: 0,
			want: []string{
				"OK (offline): 1 service(s), 1 stage(s), 2 token(s), metric source prometheus, store postgres",
				"rule(s) generated",
				"not read (offline): tokens[0].token_env PATCHGATE_TEST_UNSET_TOKEN, tokens[1].token_file missing-token.txt, store.dsn_env PATCHGATE_TEST_UNSET_DSN",
			},
		},
		{
			name: "the same config online wants its secrets",
			spec: goodSpec, code: 1,
			want: []string{
				"tokens[0].token_env: environment variable PATCHGATE_TEST_UNSET_TOKEN is not set",
				"tokens[1].token_file: open ",
				"store.dsn_env: environment variable PATCHGATE_TEST_UNSET_DSN is not set",
			},
		},
		{
			name: "a set secret never shows",
			spec: goodSpec, args: []string{"--offline"}, code: 0, setSecret: true,
			want: []string{"OK (offline)"}, dontWant: []string{"secret-value-0123456789"},
		},
		{
			name: "a missing spec file is a problem with its line",
			args: []string{"--offline"}, code: 1,
			want: []string{"c.yaml:12:36: services[0].slo.specs[0]: open ", "services[0].slo.specs[0]", "1 problem(s)"},
		},
		{
			name: "a spec file's content is checked",
			spec: badSpec, args: []string{"--offline"}, code: 1,
			want: []string{"SLO rules: services[0].slo.specs[0] (latency.sloth.yml):", "objective"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(cfg, []byte(strings.Replace(service, "SPEC", "latency.sloth.yml", 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.spec != "" {
				if err := os.WriteFile(filepath.Join(dir, "latency.sloth.yml"), []byte(tt.spec), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setSecret {
				t.Setenv("PATCHGATE_TEST_UNSET_TOKEN", "secret-value-0123456789")
			}
			code, out := runCmd(t, append(append([]string{"config", "validate"}, tt.args...), cfg)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, w := range tt.dontWant {
				if strings.Contains(out, w) {
					t.Errorf("output holds %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out := runCmd(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "patchgate dev (revision ") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}
