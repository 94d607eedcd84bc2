package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateRules(t *testing.T) {
	cases := []struct {
		name  string
		args  []string
		code  int
		files []string
		out   []string
	}{
		{
			name:  "prometheus rules files",
			args:  []string{"--config", "../../testdata/rules/patchgate.yaml"},
			files: []string{"slo-checkout.rules.yml", "slo-payments.rules.yml", "slo-search.rules.yml", "slo-ledger.rules.yml", "patchgate-lifecycle.rules.yml"},
			out: []string{
				"slo-payments.rules.yml: 2 SLO(s) of payments (payments/requests 99.95% over 7d, payments/latency 99% over 7d): 30 recording rule(s), 4 alert(s)",
				"5 file(s) for 4 service(s): 6 SLO(s), 102 recording rule(s), 10 alert(s)",
				"list them under rule_files in prometheus.yml",
				"sloth_rules_deployed is on for checkout",
			},
		},
		{
			name:  "PrometheusRule objects",
			args:  []string{"--config", "../../testdata/rules/patchgate.yaml", "--format", "prometheus-operator", "--namespace", "monitoring", "--label", "release=kube-prometheus"},
			files: []string{"slo-checkout.prometheusrule.yml", "patchgate-lifecycle.prometheusrule.yml"},
			out:   []string{"kubectl apply -f"},
		},
		{
			name: "unknown format",
			args: []string{"--config", "../../testdata/rules/patchgate.yaml", "--format", "thanos"},
			code: exitError,
			out:  []string{`--format must be prometheus or prometheus-operator, got "thanos"`},
		},
		{
			name: "namespace without the operator format",
			args: []string{"--config", "../../testdata/rules/patchgate.yaml", "--namespace", "monitoring"},
			code: exitError,
			out:  []string{"--namespace and --label apply to --format prometheus-operator only"},
		},
		{
			name: "missing spec file, placed in the config",
			args: []string{"--config", "../../testdata/config/slo_specs.bad.yml"},
			code: exitError,
			out:  []string{"slo_specs.bad.yml:11:15: services[0].slo.specs[0]: open ../../testdata/slo/missing.sloth.yml: no such file or directory"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code, out := runCmd(t, append([]string{"generate", "rules", "--out", dir}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, want := range tc.out {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			for _, f := range tc.files {
				data, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(data), "groups:") {
					t.Errorf("%s holds no rule groups:\n%s", f, data)
				}
			}
		})
	}
}
