package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateAlerts(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		file string
		out  []string
	}{
		{
			name: "rules file",
			args: []string{"--config", "../../testdata/alerts/patchgate.yaml"},
			file: "patchgate-alerts.rules.yml",
			out: []string{
				"patchgate-alerts.rules.yml: 7 page rule(s) (PatchgateCanaryErrors, PatchgateCanaryLatency, PatchgateRollbackFailed, PatchgateMassNodeReboot, PatchgateNoGoIgnored), 6 ticket rule(s)",
				"note: PatchgateCanaryErrors: no rule for search (no error_delta check at any stage)",
				"load both",
			},
		},
		{
			name: "PrometheusRule",
			args: []string{"--config", "../../testdata/alerts/patchgate.yaml", "--format", "prometheus-operator", "--namespace", "monitoring"},
			file: "patchgate-alerts.prometheusrule.yml",
		},
		{
			name: "no compliance target",
			args: []string{"--config", "../../testdata/config/alerting.good.yml"},
			file: "patchgate-alerts.rules.yml",
			out:  []string{"note: PatchgateComplianceDrift left out: no compliance target (targets.compliance_pass)"},
		},
		{
			name: "bad alerting section, placed in the config",
			args: []string{"--config", "../../testdata/config/alerting.bad.yml"},
			code: exitError,
			out:  []string{"alerting.bad.yml:5:16: alerting.thresholds.mass_reboot_percent: must be a percentage above 0 and below 100, got 100"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code, out := runCmd(t, append([]string{"generate", "alerts", "--out", dir}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, want := range tc.out {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if tc.file != "" {
				data, err := os.ReadFile(filepath.Join(dir, tc.file))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(data), "alert: PatchgateRollbackFailed") {
					t.Errorf("%s holds no patch alerts:\n%s", tc.file, data)
				}
			}
		})
	}
}

func TestGenerateAlertmanager(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		in   []string // in the written file
		out  []string
	}{
		{
			name: "standalone",
			args: []string{"--config", "../../testdata/alerts/patchgate.yaml"},
			in:   []string{"source=\"patchgate\"", "name: patchgate-windows-checkout", "routing_key_file: /etc/alertmanager/secrets/pagerduty-routing-key"},
			out: []string{
				`grouped by patch_id, cluster, service, pages to patchgate-oncall, tickets to patchgate-ticket`,
				"time intervals patchgate-windows-checkout, patchgate-windows",
				"Check it with: amtool check-config",
			},
		},
		{
			name: "merged",
			args: []string{"--config", "../../testdata/alerts/patchgate.yaml", "--merge", "../../testdata/alerts/alertmanager.yml"},
			in:   []string{"receiver: team-default", "name: database-oncall", "source=\"patchgate\""},
			out:  []string{"Merged into ../../testdata/alerts/alertmanager.yml: patchgate's route is the first child of its root route"},
		},
		{
			name: "receivers without integration stand alone, and the command says they notify nobody",
			args: []string{"--config", "../../testdata/config/minimal.good.yml"},
			in:   []string{"#   patchgate-page (alerting.receivers.page)\n", "- name: patchgate-page\n"},
			out:  []string{`warning: receiver patchgate-page (alerting.receivers.page) has no integration: the alerts routed to it notify nobody`},
		},
		{
			name: "missing file to merge",
			args: []string{"--config", "../../testdata/alerts/patchgate.yaml", "--merge", "nowhere.yml"},
			code: exitError,
			out:  []string{"--merge: open nowhere.yml: no such file or directory"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code, out := runCmd(t, append([]string{"generate", "alertmanager", "--out", dir}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, want := range tc.out {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if len(tc.in) == 0 {
				return
			}
			data, err := os.ReadFile(filepath.Join(dir, "alertmanager.yml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tc.in {
				if !bytes.Contains(data, []byte(want)) {
					t.Errorf("alertmanager.yml lacks %q:\n%s", want, data)
				}
			}
		})
	}
}
