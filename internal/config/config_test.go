package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// configDir holds the good and bad files, relative to this package.
const configDir = "../../testdata/config"

// setSecrets sets the environment the good and bad files refer to.
func setSecrets(t *testing.T) {
	t.Helper()
	t.Setenv("PATCHGATE_TEST_DSN", "postgres://patchgate@db/patchgate")
	t.Setenv("PATCHGATE_TEST_SHORT", "short-env")
	t.Setenv("PATCHGATE_TEST_SAME_AS_FILE", "a-token-read-from-a-file-0123456789")
}

func TestGoodConfigs(t *testing.T) {
	setSecrets(t)
	t.Chdir(configDir)
	files, err := filepath.Glob("*.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no good files")
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}
}

func TestBadConfigs(t *testing.T) {
	setSecrets(t)
	t.Chdir(configDir)
	cases := []struct {
		file string
		want []string
	}{
		{"empty.bad.yml", []string{
			"empty.bad.yml: empty config",
		}},
		{"syntax.bad.yml", []string{
			"syntax.bad.yml:3:8: sequence end token ']' not found",
		}},
		{"duplicate_key.bad.yml", []string{
			`duplicate_key.bad.yml:3:3: mapping key "type" already defined at [2:3]`,
		}},
		{"two_documents.bad.yml", []string{
			"two_documents.bad.yml:3:1: expected one YAML document, found 2",
		}},
		{"unknown_field.bad.yml", []string{
			"unknown_field.bad.yml:4:3: source.timout: unknown field; valid fields here: type, url, headers, bearer_token_file, timeout, evaluation_delay",
		}},
		{"wrong_type.bad.yml", []string{
			`wrong_type.bad.yml:6:18: services[0].slo.objective: expected a number, got "high"`,
		}},
		{"wrong_kind.bad.yml", []string{
			`wrong_kind.bad.yml:5:13: services[0].stages: expected a list, got "canary"`,
		}},
		{"bad_duration.bad.yml", []string{
			`bad_duration.bad.yml:4:12: source.timeout: invalid duration "10 seconds": want a number and a unit (ms, s, m, h, d, w, y) such as 30s or 5m`,
		}},
		{"duration_without_unit.bad.yml", []string{
			`duration_without_unit.bad.yml:7:19: services[0].stages[0].max_wait: invalid duration "30": want a number and a unit (ms, s, m, h, d, w, y) such as 30s or 5m`,
		}},
		{"listen.bad.yml", []string{
			`listen.bad.yml:1:1: listen: must be host:port such as ":8080", got "8080"`,
		}},
		{"source_type.bad.yml", []string{
			`source_type.bad.yml:3:3: source.type: must be one of prometheus, embedded, got "victoria"`,
			`source_type.bad.yml:4:3: source.timeout: must be greater than 0`,
			`source_type.bad.yml:6:3: store.driver: must be one of sqlite, postgres, got "mysql"`,
		}},
		{"source_url.bad.yml", []string{
			`source_url.bad.yml:3:3: source.url: must be an http or https URL such as http://prometheus:9090, got "prometheus:9090"`,
		}},
		{"source_no_url.bad.yml", []string{
			`source_no_url.bad.yml:1:1: source.url: required when type is prometheus`,
			`source_no_url.bad.yml:3:1: store.dsn: postgres needs dsn or dsn_env`,
		}},
		{"store_dsn.bad.yml", []string{
			`store_dsn.bad.yml:1:1: source.type: required: one of prometheus, embedded`,
			`store_dsn.bad.yml:5:3: store.dsn_env: set only one of dsn and dsn_env`,
		}},
		{"tokens.bad.yml", []string{
			`tokens.bad.yml:4:5: tokens[0].name: required`,
			`tokens.bad.yml:9:5: tokens[2].name: "argo" is already the name of tokens[1]`,
			`tokens.bad.yml:12:5: tokens[3]: one of token, token_file, token_env is required`,
			`tokens.bad.yml:16:5: tokens[4].token_env: set only one of token, token_file, token_env (also has token)`,
			`tokens.bad.yml:18:5: tokens[5].scopes: at least one scope is required: gate, events, override, admin`,
			`tokens.bad.yml:22:20: tokens[6].scopes[1]: unknown scope "deploy": must be one of gate, events, override, admin`,
			`tokens.bad.yml:24:5: tokens[7].token: the token must be at least 16 characters, got 8`,
		}},
		{"token_secrets.bad.yml", []string{
			`token_secrets.bad.yml:6:3: store.dsn_env: environment variable PATCHGATE_TEST_UNSET_DSN is not set`,
			`token_secrets.bad.yml:9:5: tokens[0].token_env: environment variable PATCHGATE_TEST_UNSET is not set`,
			`token_secrets.bad.yml:12:5: tokens[1].token_env: the value of PATCHGATE_TEST_SHORT must be at least 16 characters, got 9`,
			`token_secrets.bad.yml:15:5: tokens[2].token_file: open secrets/missing.token: no such file or directory`,
			`token_secrets.bad.yml:18:5: tokens[3].token_file: the secret in secrets/short.token must be at least 16 characters, got 5`,
			`token_secrets.bad.yml:23:5: tokens[5]: has the same secret as tokens[4]`,
		}},
		{"no_services.bad.yml", []string{
			`no_services.bad.yml:3:1: services: at least one service is required`,
		}},
		{"service_names.bad.yml", []string{
			`service_names.bad.yml:4:5: services[0].name: required`,
			`service_names.bad.yml:11:5: services[1].name: must match [a-zA-Z0-9_.-]+, got "check out"`,
			`service_names.bad.yml:27:5: services[3].name: "checkout" is already the name of services[2]`,
		}},
		{"sli.bad.yml", []string{
			`sli.bad.yml:5:5: services[0].sli.errors: required`,
			`sli.bad.yml:5:5: services[0].sli.canary: required when a check compares canary with baseline (error_delta, min_traffic, latency_delta, promql with compare: baseline)`,
			`sli.bad.yml:6:7: services[0].sli.total: must contain {{.window}} where the range goes, e.g. rate(http_requests_total[{{.window}}])`,
			`sli.bad.yml:7:7: services[0].sli.baseline: invalid label selector: 1:6: parse error: unexpected "="`,
			`sli.bad.yml:15:5: services[1].sli.canary: required when a check compares canary with baseline (error_delta, min_traffic, latency_delta, promql with compare: baseline)`,
			`sli.bad.yml:15:5: services[1].sli.baseline: required when a check compares canary with baseline (error_delta, min_traffic, latency_delta, promql with compare: baseline)`,
			`sli.bad.yml:16:7: services[1].sli.errors: invalid PromQL with {{.window}} set to 5m: 1:47: parse error: unclosed left parenthesis`,
			`sli.bad.yml:17:7: services[1].sli.total: must return an instant vector, got a scalar`,
		}},
		{"sli_tracks.bad.yml", []string{
			`sli_tracks.bad.yml:9:7: services[0].sli.baseline: must select other series than canary, got the same matchers`,
			`sli_tracks.bad.yml:18:7: services[1].sli.canary: label version: unknown template {{.version}}: use {{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}} or {{.params.NAME}}`,
			`sli_tracks.bad.yml:19:7: services[1].sli.baseline: label version: unknown template {{.params}}: use {{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}} or {{.params.NAME}}`,
			`sli_tracks.bad.yml:28:7: services[2].sli.canary: must hold label matchers only, not a metric name: it is added to every series the SLI queries read`,
			`sli_tracks.bad.yml:29:7: services[2].sli.baseline: label version: unknown template {{.patch_id | printf}}: use {{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}} or {{.params.NAME}}`,
			`sli_tracks.bad.yml:38:7: services[3].sli.canary: label version: invalid template: unclosed action`,
			`sli_tracks.bad.yml:39:7: services[3].sli.baseline: label version: unknown template {{.params.a.b}}: use {{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}} or {{.params.NAME}}`,
		}},
		{"slo.bad.yml", []string{
			`slo.bad.yml:9:7: services[0].slo.objective: must be between 0 and 100 (exclusive), got 120`,
			`slo.bad.yml:10:7: services[0].slo.period: must be greater than 0`,
			`slo.bad.yml:17:5: services[1].slo.objective: required: the objective in percent, e.g. 99.9`,
			`slo.bad.yml:21:5: services[2].stages: at least one stage is required`,
			`slo.bad.yml:26:7: services[2].slo.objective: must be between 0 and 100 (exclusive), got 100`,
		}},
		{"stages.bad.yml", []string{
			`stages.bad.yml:12:9: services[0].stages[0].max_wait: must be between 3m and 24h, got 1m`,
			`stages.bad.yml:13:9: services[0].stages[1].name: "canary" is already the name of stages[0]`,
			`stages.bad.yml:14:9: services[0].stages[1].max_wait: must be a whole number of minutes (one look per minute), got 5m30s`,
			`stages.bad.yml:15:9: services[0].stages[2].name: required`,
			`stages.bad.yml:15:9: services[0].stages[2].max_wait: must be between 3m and 24h, got 1d1h`,
			`stages.bad.yml:17:9: services[0].stages[3].max_wait: must be between 3m and 24h, got 0s`,
			`stages.bad.yml:18:9: services[0].stages[3].on_timeout: must be one of no_go, go, got "wait"`,
			`stages.bad.yml:19:9: services[0].stages[3].on_futility: must be one of answer, wait, got "later"`,
			`stages.bad.yml:20:9: services[0].stages[3].mode: must be one of enforce, shadow, got "dry-run"`,
			`stages.bad.yml:27:5: services[1].stages: at least one stage is required`,
			`stages.bad.yml:28:5: services[1].mode: must be one of enforce, shadow, got "off"`,
		}},
		{"anchors.bad.yml", []string{
			`anchors.bad.yml:13:9: services[0].checks.freshness.max_age: must be greater than 0`,
			`anchors.bad.yml:13:9: services[1].checks.freshness.max_age: must be greater than 0`,
			`anchors.bad.yml:20:7: services[1].slo.objective: must be between 0 and 100 (exclusive), got 100`,
		}},
		{"slo_rules.bad.yml", []string{
			`slo_rules.bad.yml:12:7: services[0].slo.period: sloth_rules_deployed needs a period Sloth's rules are generated for: one of 7d, 28d, 30d or 90d, got 14d`,
			`slo_rules.bad.yml:13:7: services[0].slo.name: must start and end with a letter or digit and hold only letters, digits, '.', '_' and '-' (Sloth's rule), got "-requests"`,
			`slo_rules.bad.yml:14:34: services[0].slo.specs[1]: must name a Sloth prometheus/v1 or OpenSLO v1alpha file`,
			`slo_rules.bad.yml:14:38: services[0].slo.specs[2]: "./missing.sloth.yml" is already specs[0]`,
			`slo_rules.bad.yml:19:24: services[0].checks.burn_rate.windows[0].short: Sloth records no error ratio over 10m (sloth_rules_deployed is on): use 5m, 30m, 1h, 2h, 6h, 1d or 3d`,
			`slo_rules.bad.yml:24:24: services[0].stages[0].checks.burn_rate.windows[0].long: Sloth records no error ratio over 12h (sloth_rules_deployed is on): use 5m, 30m, 1h, 2h, 6h, 1d or 3d`,
			`slo_rules.bad.yml:26:3: targets.time_to_deploy: must be greater than 0`,
			`slo_rules.bad.yml:27:3: targets.patch_coverage: must be a percentage above 0 and at most 100, got 120`,
			`slo_rules.bad.yml:28:3: targets.canary_error_delta_pp: must be between 0 and 100 percentage points (exclusive), got 0`,
			`slo_rules.bad.yml:29:3: targets.compliance_pass: must be a percentage above 0 and at most 100, got 0`,
		}},
		{"slo_specs.bad.yml", []string{
			`slo_specs.bad.yml:11:15: services[0].slo.specs[0]: open ../slo/missing.sloth.yml: no such file or directory`,
		}},
		{"grafana.bad.yml", []string{
			`grafana.bad.yml:4:3: grafana.url: must be an http or https URL such as http://grafana:3000, got "grafana:3000"`,
			`grafana.bad.yml:6:3: grafana.token_file: set only one of token_env and token_file`,
			`grafana.bad.yml:7:3: grafana.folder: must not be empty`,
			`grafana.bad.yml:8:3: grafana.uid_prefix: must hold only letters, digits, '-' and '_' (Grafana's uid rule), got "patchgate.prod"`,
		}},
		{"grafana_token.bad.yml", []string{
			`grafana_token.bad.yml:3:1: grafana: token_env or token_file is required when url is set (a service account token with the Editor role)`,
			`grafana_token.bad.yml:5:3: grafana.uid_prefix: must be at most 24 characters so that dashboard uids stay within Grafana's 40, got 28`,
		}},
		{"notify.bad.yml", []string{
			`notify.bad.yml:4:3: ui.external_url: must be an http or https URL such as https://patchgate.example.com, got "patchgate.example.com"`,
			`notify.bad.yml:8:7: notify.webhooks[0].name: must hold only letters, digits, '-' and '_', got "sre slack"`,
			`notify.bad.yml:9:7: notify.webhooks[0].url: must be an http or https URL (not shown: it may hold a secret)`,
			`notify.bad.yml:10:7: notify.webhooks[1]: one of url, url_file and url_env is required`,
			`notify.bad.yml:11:7: notify.webhooks[1].format: must be one of slack, json, got "xml"`,
			`notify.bad.yml:12:19: notify.webhooks[1].on[1]: must be one of go, no_go, wait, got "fail"`,
			`notify.bad.yml:14:7: notify.webhooks[2].url: set only one of url, url_file and url_env`,
		}},
		{"notify_link.bad.yml", []string{
			`notify_link.bad.yml:3:1: notify: ui.external_url is required with webhooks: notifications link to the decision page`,
		}},
		{"notify_secret.bad.yml", []string{
			`notify_secret.bad.yml:5:3: ui.session_key_file: the session key is 5 bytes, at least 32 needed (e.g. openssl rand -base64 48)`,
			`notify_secret.bad.yml:9:7: notify.webhooks[0].url_env: environment variable PATCHGATE_TEST_UNSET_SLACK is not set`,
		}},
		{"grafana_secret.bad.yml", []string{
			`grafana_secret.bad.yml:5:3: grafana.token_env: environment variable PATCHGATE_TEST_UNSET_GRAFANA is not set`,
		}},
		{"checks.bad.yml", []string{
			`checks.bad.yml:14:9: services[0].checks.error_delta.margin_pp: must be between 0 and 100 (exclusive), got 0`,
			`checks.bad.yml:15:9: services[0].checks.error_delta.alpha: must be between 0 and 0.5 (exclusive), got 0.5`,
			`checks.bad.yml:16:9: services[0].checks.error_delta.method: must be one of pocock, confidence_sequence, got "bayes"`,
			`checks.bad.yml:17:7: services[0].checks.min_traffic.requests: must be greater than 0, got 0`,
			`checks.bad.yml:20:14: services[0].checks.burn_rate.windows[0].long: must be longer than short (1h), got 5m`,
			`checks.bad.yml:21:24: services[0].checks.burn_rate.windows[1].short: must be greater than 0`,
			`checks.bad.yml:21:35: services[0].checks.burn_rate.windows[1].factor: must be greater than 0, got 0`,
			`checks.bad.yml:22:9: services[0].checks.burn_rate.min_budget_remaining: must be a fraction from 0 to below 1, got 1`,
			`checks.bad.yml:24:9: services[0].checks.alerts.selector: invalid label selector: 1:9: parse error: unexpected "="`,
			`checks.bad.yml:25:9: services[0].checks.alerts.service_label: must be a label name such as service, got "app-name"`,
			`checks.bad.yml:27:9: services[0].checks.freshness.max_age: must be greater than 0`,
			"checks.bad.yml:31:11: services[0].stages[0].checks.freshness: is empty, which leaves the check off: write `freshness: {}` to turn it on with its defaults, or remove the line",
			`checks.bad.yml:33:13: services[0].stages[0].checks.burn_rate.windows: at least one window is required`,
			`checks.bad.yml:35:13: services[0].stages[0].checks.min_traffic.requests: must be greater than 0, got -5`,
		}},
		{"controls.bad.yml", []string{
			`controls.bad.yml:4:23: clusters[0].hosts: must be greater than 0, got 0`,
			`controls.bad.yml:5:6: clusters[1].name: "eu-west-1" is already the name of clusters[0]`,
			`controls.bad.yml:8:24: controls.windows[0].weekdays[1]: unknown weekday "funday": want mon, tue, wed, thu, fri, sat or sun`,
			`controls.bad.yml:8:32: controls.windows[0].weekdays[2]: mon is listed twice`,
			`controls.bad.yml:8:38: controls.windows[0].start: want a time of day HH:MM such as "22:00" (00:00 to 24:00), got "25:00"`,
			`controls.bad.yml:8:54: controls.windows[0].end: want a time of day HH:MM such as "22:00" (00:00 to 24:00), got "4pm"`,
			`controls.bad.yml:8:66: controls.windows[0].time_zone: unknown time zone "Europe/Atlantis": want an IANA name such as Europe/Berlin`,
			`controls.bad.yml:9:24: controls.windows[1].end: equals start (22:00): the range would be empty or a whole day`,
			`controls.bad.yml:10:7: controls.windows[2].start: required: a time of day HH:MM such as "22:00"`,
			`controls.bad.yml:12:36: controls.freezes[0].to: must be after from (2027-01-04T00:00:00Z)`,
			`controls.bad.yml:13:7: controls.freezes[1].reason: required: it is shown in every answer the freeze stops`,
			`controls.bad.yml:13:8: controls.freezes[1].starts_at: want an RFC 3339 time such as 2026-12-20T00:00:00+01:00, got "tomorrow"`,
			`controls.bad.yml:14:7: controls.freezes[2]: set either starts_at and ends_at, or weekdays, start and end, not both`,
			`controls.bad.yml:15:7: controls.freezes[3]: set starts_at and ends_at (RFC 3339 times), or start and end (HH:MM) with weekdays and time_zone`,
			`controls.bad.yml:16:28: controls.emergency.severities[0]: must be one of critical, high, medium, low, got "urgent"`,
			`controls.bad.yml:18:3: concurrency.max_services: must not be negative, got -1`,
			`controls.bad.yml:19:3: concurrency.max_cluster_hosts_percent: must be from 0 to 100, got 150`,
			`controls.bad.yml:20:3: concurrency.queue_timeout: must be at least 1m: a waiter asks again every 30s, so a shorter timeout drops waiters between their own asks, got 0s`,
			`controls.bad.yml:22:8: concurrency.clusters[0].name: undefined cluster "nowhere": add it to clusters with its hosts`,
			`controls.bad.yml:23:7: concurrency.clusters[1]: set max_services or max_hosts_percent`,
			`controls.bad.yml:34:19: services[0].controls.emergency.severities: at least one severity is required: critical, high, medium, low`,
		}},
		{"alerting.bad.yml", []string{
			`alerting.bad.yml:4:3: alerting.runbook_url: must be an http or https URL such as https://wiki.example.com/runbooks/patchgate/ (the alert's name in lower case is appended), got "wiki/runbooks"`,
			`alerting.bad.yml:5:16: alerting.thresholds.mass_reboot_percent: must be a percentage above 0 and below 100, got 100`,
			`alerting.bad.yml:5:42: alerting.thresholds.reboot_window: must be greater than 0`,
			`alerting.bad.yml:5:61: alerting.thresholds.patching_budget_percent: must be a percentage above 0 and at most 100, got 0`,
			`alerting.bad.yml:6:9: alerting.for.PatchgateHostFailed: unknown alert "PatchgateHostFailed": one of PatchgateCanaryErrors, PatchgateCanaryLatency, PatchgateRollbackFailed, PatchgateMassNodeReboot, PatchgateNoGoIgnored, PatchgateComplianceDrift, PatchgateHostPatchFailed, PatchgatePatchFailed, PatchgateExposureWindowOverTarget, PatchgateCoverageUnderTarget, PatchgateErrorBudgetUsedByPatching`,
			`alerting.bad.yml:10:17: alerting.receivers.page.webhook.url: must not hold credentials: put a bearer token in a file and name it in bearer_token_file`,
			`alerting.bad.yml:11:19: alerting.receivers.page.pagerduty.routing_key_file: required`,
			`alerting.bad.yml:13:7: alerting.receivers.ticket.name: must differ from the page receiver's name ("patchgate"): pages and tickets are routed apart`,
			`alerting.bad.yml:14:7: alerting.receivers.ticket.slack.channel: required`,
			`alerting.bad.yml:15:7: alerting.receivers.ticket.email: set both auth_username and auth_password_file, or neither`,
			`alerting.bad.yml:16:11: alerting.route.group_interval: must be greater than 0`,
		}},
		{"alerting_secret.bad.yml", []string{
			"alerting_secret.bad.yml:6:19: alerting.receivers.page.pagerduty.routing_key: unknown field; valid fields here: routing_key_file",
		}},
		{"latency.bad.yml", []string{
			`latency.bad.yml:5:5: services[0].sli.canary: required when a check compares canary with baseline (error_delta, min_traffic, latency_delta, promql with compare: baseline)`,
			`latency.bad.yml:5:5: services[0].sli.baseline: required when a check compares canary with baseline (error_delta, min_traffic, latency_delta, promql with compare: baseline)`,
			`latency.bad.yml:11:7: services[0].checks.latency_delta.threshold: required: a bucket boundary (le) of the histogram in its unit, e.g. 0.5 for 500ms`,
			`latency.bad.yml:12:9: services[0].checks.latency_delta.histogram: name the histogram without its _bucket suffix: "http_request_duration_seconds"`,
			`latency.bad.yml:13:9: services[0].checks.latency_delta.selector: must not match le: the check reads every bucket`,
			`latency.bad.yml:14:9: services[0].checks.latency_delta.margin_pp: must be between 0 and 100 (exclusive), got 100`,
			`latency.bad.yml:15:9: services[0].checks.latency_delta.alpha: must be between 0 and 0.5 (exclusive), got 0`,
			`latency.bad.yml:16:9: services[0].checks.latency_delta.method: must be one of pocock, confidence_sequence, got "bayes"`,
			`latency.bad.yml:21:13: services[0].stages[0].checks.latency_delta.histogram: must be a metric name such as http_request_duration_seconds, got "5xx"`,
			`latency.bad.yml:22:13: services[0].stages[0].checks.latency_delta.selector: label job: unknown template {{.nope}}: use {{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}} or {{.params.NAME}}`,
			`latency.bad.yml:23:13: services[0].stages[0].checks.latency_delta.threshold: must be a bucket boundary greater than 0, got -1`,
			`latency.bad.yml:28:13: services[0].stages[1].checks.latency_delta.selector: invalid label selector: 1:4: parse error: unexpected "="`,
			`latency.bad.yml:29:13: services[0].stages[1].checks.latency_delta.threshold: must be a bucket boundary greater than 0, got +Inf`,
			"latency.bad.yml:30:11: services[0].stages[1].checks.freshness: is empty, which leaves the check off: write `freshness: {}` to turn it on with its defaults, or remove the line",
			"latency.bad.yml:33:11: services[0].stages[2].checks.latency_delta: is empty, which leaves the check off: write `latency_delta: {}` to turn it on with its defaults, or remove the line",
		}},
		{"promql.bad.yml", []string{
			`promql.bad.yml:4:5: services[0].stages: at least one stage is required`,
			`promql.bad.yml:5:5: services[0].sli.baseline: required when a check compares canary with baseline (error_delta, min_traffic, latency_delta, promql with compare: baseline)`,
			`promql.bad.yml:14:11: services[0].checks.promql[0].query: invalid PromQL with {{.window}} set to 5m: 1:39: parse error: unclosed left parenthesis`,
			`promql.bad.yml:16:11: services[0].checks.promql[0].by: must be one of ratio, difference, got "percent"`,
			`promql.bad.yml:18:11: services[0].checks.promql[1].name: "memory" is already the name of services[0].checks.promql[0]`,
			`promql.bad.yml:19:11: services[0].checks.promql[1].query: must return an instant vector or a scalar, got a matrix`,
			`promql.bad.yml:20:11: services[0].checks.promql[1].above: must be less than below (1), got 2: no value could pass`,
			`promql.bad.yml:22:11: services[0].checks.promql[1].by: only applies with compare: baseline`,
			`promql.bad.yml:23:11: services[0].checks.promql[2].name: must match [a-zA-Z0-9_.-]+, got "cpu usage"`,
			`promql.bad.yml:23:11: services[0].checks.promql[2]: needs a threshold: below, above or both`,
			`promql.bad.yml:24:11: services[0].checks.promql[2].query: label pod: unknown template {{.secret}}: use {{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}} or {{.params.NAME}}`,
			`promql.bad.yml:25:11: services[0].checks.promql[2].compare: must be baseline (or left out to judge the canary alone), got "canary"`,
			`promql.bad.yml:26:11: services[0].checks.promql[2].window: must be greater than 0`,
			`promql.bad.yml:27:11: services[0].checks.promql[2].failure_limit: must be 0 or more, got -1`,
			`promql.bad.yml:28:11: services[0].checks.promql[2].consecutive_successes: must be 1 or more, got 0`,
			`promql.bad.yml:29:11: services[0].checks.promql[3].name: required: the check's name in answers, e.g. memory`,
			`promql.bad.yml:29:11: services[0].checks.promql[3].query: template in "{{.params.pod}}": templates are filled only in label matcher values`,
			`promql.bad.yml:29:11: services[0].checks.promql[3]: needs a threshold: below, above or both`,
			`promql.bad.yml:32:11: services[0].checks.promql[4].below: must be a finite number, got NaN`,
		}},
	}

	files, err := filepath.Glob("*.bad.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.ContainsFunc(cases, func(c struct {
			file string
			want []string
		}) bool {
			return c.file == f
		}) {
			t.Errorf("%s has no case in TestBadConfigs", f)
		}
	}

	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			_, err := Load(c.file)
			if err == nil {
				t.Fatal("Load succeeded, want problems")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, c.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestAnchors(t *testing.T) {
	setSecrets(t)
	c, err := Load(filepath.Join(configDir, "anchors.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	worker, ok := c.Service("worker")
	if !ok {
		t.Fatal("no service worker")
	}
	if want := (SLO{Objective: 99, Period: Duration(28 * 24 * time.Hour), Name: DefaultSLOName}); !reflect.DeepEqual(worker.SLO, want) {
		t.Errorf("merged slo: got %+v, want %+v", worker.SLO, want)
	}
	if got := c.Store.DSN; got != "postgres://patchgate@db/patchgate" {
		t.Errorf("dsn from dsn_env: got %q", got)
	}
	if got := c.Tokens[1].Value; got != "a-token-read-from-a-file-0123456789" {
		t.Errorf("token from token_file: got %q", got)
	}
}

func TestExample(t *testing.T) {
	t.Setenv("PATCHGATE_TOKEN_ARGO", "argo-secret-0123456789")
	t.Setenv("PATCHGATE_TOKEN_CI", "ci-secret-0123456789")
	t.Setenv("PATCHGATE_TOKEN_ADMIN", "admin-secret-0123456789")
	c, err := Load("../../testdata/patchgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Services); got != 2 {
		t.Fatalf("services: got %d, want 2", got)
	}
	if c.Tokens[0].Value != "argo-secret-0123456789" || !c.Tokens[0].Has(ScopeGate) || c.Tokens[0].Has(ScopeOverride) {
		t.Errorf("argo token: got %+v", c.Tokens[0])
	}
	checkout, ok := c.Service("checkout")
	if !ok {
		t.Fatal("no service checkout")
	}
	canary, ok := checkout.Stage("canary")
	if !ok {
		t.Fatal("no stage canary")
	}
	got := checkout.EffectiveChecks(canary)
	if *got.MinTraffic != (MinTraffic{Requests: 500}) {
		t.Errorf("canary min_traffic: got %+v", *got.MinTraffic)
	}
	if want := (ErrorDelta{MarginPP: 0.25, Alpha: 0.05, Method: "pocock"}); *got.ErrorDelta != want {
		t.Errorf("canary error_delta: got %+v, want %+v", *got.ErrorDelta, want)
	}
	if got.BurnRate == nil || got.BurnRate.MinBudgetRemaining != 0.1 || got.Alerts == nil || got.Freshness == nil {
		t.Errorf("canary should keep the service's burn_rate, alerts and freshness: got %+v", got)
	}
}

func TestParseDefaults(t *testing.T) {
	const src = `
source: {type: embedded}
services:
  - name: demo
    sli:
      errors: sum(rate(errors_total[{{.window}}]))
      total: sum(rate(requests_total[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99}
    checks:
      error_delta: {}
      burn_rate: {}
      alerts: {}
      freshness: {}
    stages:
      - name: all
`
	c, err := Parse("defaults.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Listen: ":8080",
		Source: Source{Type: "embedded", Timeout: Duration(10 * time.Second)},
		Store:  Store{Driver: "sqlite", DSN: "patchgate.db"},
		Services: []Service{{
			Name: "demo",
			SLI: SLI{
				Errors:   "sum(rate(errors_total[{{.window}}]))",
				Total:    "sum(rate(requests_total[{{.window}}]))",
				Canary:   `{track="canary"}`,
				Baseline: `{track="baseline"}`,
			},
			SLO: SLO{Objective: 99, Period: Duration(30 * 24 * time.Hour), Name: "requests"},
			Checks: Checks{
				ErrorDelta: &ErrorDelta{MarginPP: 0.5, Alpha: 0.05, Method: "pocock"},
				BurnRate: &BurnRate{Windows: []BurnWindow{
					{Long: Duration(time.Hour), Short: Duration(5 * time.Minute), Factor: 14.4},
					{Long: Duration(6 * time.Hour), Short: Duration(30 * time.Minute), Factor: 6},
				}},
				Alerts:    &Alerts{Selector: `{severity="page"}`, ServiceLabel: "service"},
				Freshness: &Freshness{MaxAge: Duration(3 * time.Minute)},
			},
			Stages: []Stage{{Name: "all", MaxWait: Duration(time.Hour), OnTimeout: "no_go", OnFutility: "answer"}},
		}},
		Targets: Targets{
			TimeToDiscover: Duration(24 * time.Hour), TimeToTest: Duration(72 * time.Hour),
			TimeToDeploy: Duration(7 * 24 * time.Hour), TimeToRollback: Duration(time.Hour),
			PatchCoverage: 95, CanaryErrorDeltaPP: 0.5, ExposureWindow: Duration(14 * 24 * time.Hour),
		},
		Grafana: Grafana{Folder: "patchgate", UIDPrefix: "patchgate", Annotations: true},
		Alerting: Alerting{
			RunbookURL: "https://github.com/patchgate/patchgate/blob/main/docs/alerts.md#",
			Thresholds: AlertThresholds{MassRebootPercent: 20, RebootWindow: Duration(10 * time.Minute), RollbackGrace: Duration(15 * time.Minute),
				PatchingBudgetPercent: 25, BudgetWindow: Duration(7 * 24 * time.Hour)},
			Receivers: AlertReceivers{Page: AlertReceiver{Name: "patchgate-page"}, Ticket: AlertReceiver{Name: "patchgate-ticket"}},
			Route: AlertRoute{GroupWait: Duration(30 * time.Second), GroupInterval: Duration(5 * time.Minute),
				RepeatInterval: Duration(4 * time.Hour), TicketRepeatInterval: Duration(24 * time.Hour)},
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got\n%+v\nwant\n%+v", c, want)
	}
}

func TestParseLeavesSecretsUnresolved(t *testing.T) {
	const src = `
source: {type: embedded}
tokens:
  - {name: inline, token: an-inline-token-0123456789, scopes: [gate]}
  - {name: env, token_env: PATCHGATE_TEST_NEVER_SET, scopes: [gate]}
store: {driver: postgres, dsn_env: PATCHGATE_TEST_NEVER_SET}
services:
  - name: demo
    sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}
    slo: {objective: 99}
    stages: [{name: all}]
`
	c, err := Parse("secrets.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tokens[0].Value; got != "an-inline-token-0123456789" {
		t.Errorf("inline token value: got %q", got)
	}
	if got := c.Tokens[1].Value; got != "" {
		t.Errorf("env token value: got %q, want it unresolved", got)
	}
	if got := c.Store.DSN; got != "" {
		t.Errorf("dsn: got %q, want it unresolved", got)
	}
}

func TestProblemError(t *testing.T) {
	cases := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "patchgate.yaml", Line: 12, Column: 5, Field: "services[0].slo.objective", Message: "must be between 0 and 100 (exclusive), got 120"},
			"patchgate.yaml:12:5: services[0].slo.objective: must be between 0 and 100 (exclusive), got 120"},
		{Problem{File: "patchgate.yaml", Line: 3, Column: 8, Message: "sequence end token ']' not found"},
			"patchgate.yaml:3:8: sequence end token ']' not found"},
		{Problem{File: "patchgate.yaml", Field: "services", Message: "at least one service is required"},
			"patchgate.yaml: services: at least one service is required"},
	}
	for _, c := range cases {
		if got := c.p.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// TestParseNestedAliases guards against a "billion laughs": ten aliases of
// ten aliases, nine deep, must not be expanded while looking up fields.
func TestParseNestedAliases(t *testing.T) {
	var b strings.Builder
	b.WriteString("source:\n  type: embedded\n  headers:\n    x0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		refs := strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10)
		fmt.Fprintf(&b, "    x%d: &a%d [%s]\n", i, i, strings.TrimSuffix(refs, ", "))
	}
	_, err := Parse("laughs.yml", []byte(b.String()))
	want := "laughs.yml:4:13: source.headers.x0: expected a string, got a list"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
