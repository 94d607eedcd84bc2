// Package config is the patchgate.yaml model: loading, defaults and
// validation with errors that name the file, line and field.
//
// Parse decodes strictly (an unknown field is an error), fills the defaults
// documented on each field where the file leaves the field out (or null), and
// then reports every problem at once as Problems. A field written with an
// explicit zero or empty value is not defaulted: validation reports it.
// Load does the same for a file and resolves the secrets it refers to.
package config

import (
	"time"
)

// Scopes a token may carry.
const (
	ScopeGate     = "gate"
	ScopeEvents   = "events"
	ScopeOverride = "override"
	ScopeAdmin    = "admin"
)

// Config is one patchgate.yaml.
type Config struct {
	// Listen is the HTTP address of `patchgate serve` (default ":8080").
	Listen string `yaml:"listen" json:"listen,omitempty"`
	// TLS serves HTTPS, optionally with mutual TLS (tls.go).
	TLS      TLS       `yaml:"tls" json:"tls"`
	Source   Source    `yaml:"source" json:"source"`
	Store    Store     `yaml:"store" json:"store"`
	Tokens   []Token   `yaml:"tokens" json:"-"`
	Services []Service `yaml:"services" json:"services"`
	// Integrations maps rollout tools' requests to services and stages
	// (integrations.go).
	Integrations Integrations `yaml:"integrations" json:"integrations"`
	// Clusters, Controls and Concurrency are the operator's rules around
	// the checks (controls.go).
	Clusters    []Cluster    `yaml:"clusters" json:"clusters,omitempty"`
	Controls    Controls     `yaml:"controls" json:"controls"`
	Concurrency *Concurrency `yaml:"concurrency" json:"concurrency,omitempty"`
	// Targets are the patch lifecycle targets recorded beside the SLO
	// rules (slo_rules.go).
	Targets Targets `yaml:"targets" json:"targets"`
	// Grafana is where dashboards are published and decisions annotated
	// (grafana.go).
	Grafana Grafana `yaml:"grafana" json:"grafana"`
	// Alerting is how the patch alerts and their Alertmanager routing are
	// generated (alerting.go).
	Alerting Alerting `yaml:"alerting" json:"alerting"`
	// Notify sends decisions to webhooks; UI is what the web UI needs
	// (notify.go).
	Notify Notify `yaml:"notify" json:"notify"`
	UI     UI     `yaml:"ui" json:"ui"`
	// Dir is the folder of the config file (set by Load and
	// LoadWithoutSecrets): relative SLO spec paths are read from it.
	Dir string `yaml:"-" json:"-"`
	// Warnings are what the file may keep for now but should change, such
	// as deprecated keys, each at its line; serve and config validate log
	// them.
	Warnings Problems `yaml:"-" json:"-"`
}

// Source is where PromQL runs.
type Source struct {
	// Type is "prometheus" (any Prometheus HTTP API: Prometheus, Thanos,
	// Mimir, VictoriaMetrics) or "embedded" (the demo's local TSDB).
	// Required, no default.
	Type string `yaml:"type" json:"type"`
	// URL is the API root, e.g. http://prometheus:9090 or
	// http://mimir:8080/prometheus (no trailing /api/v1). Required for
	// "prometheus".
	URL string `yaml:"url" json:"url,omitempty"`
	// Headers are sent with every query (e.g. X-Scope-OrgID for Mimir).
	Headers map[string]string `yaml:"headers" json:"-"`
	// BearerTokenFile, when set, names a file holding a bearer token sent
	// as Authorization with every query; a relative path is read from the
	// config file's folder, as token_file is. Load reads it into BearerToken.
	BearerTokenFile string `yaml:"bearer_token_file" json:"-"`
	// BearerToken is the content of BearerTokenFile, set by Load.
	BearerToken string `yaml:"-" json:"-"`
	// Timeout bounds one query (default 10s).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// EvaluationDelay is how far behind now a look ends, so the last minute
	// is fully scraped (default 0s).
	EvaluationDelay Duration `yaml:"evaluation_delay" json:"evaluation_delay,omitempty"`
}

// Store is where decisions, events and stage state live.
type Store struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string `yaml:"driver" json:"driver"`
	// DSN is a file path for sqlite (default "patchgate.db") or a
	// PostgreSQL connection string; DSNEnv names an environment variable
	// holding it instead (Load resolves it into DSN). Postgres needs one
	// of the two.
	DSN    string `yaml:"dsn" json:"-"`
	DSNEnv string `yaml:"dsn_env" json:"-"`
	// AuditKeyFile, when set, names a file holding the key (at least 32
	// characters; surrounding white space is dropped) that keys the audit
	// chain's hashes (HMAC-SHA256), so someone who can write the database
	// but cannot read this file cannot forge the chain after an edit. A
	// relative path is read from the config file's folder, as token_file
	// is. Load reads it into AuditKey.
	AuditKeyFile string `yaml:"audit_key_file" json:"-"`
	// AuditKey is the content of AuditKeyFile, set by Load.
	AuditKey string `yaml:"-" json:"-"`
}

// MinAuditKeyLength is the shortest store.audit_key_file key accepted.
const MinAuditKeyLength = 32

// Token is one API bearer token. Exactly one of Token, TokenFile, TokenEnv;
// the secret must be at least 16 characters and differ from the others'.
type Token struct {
	// Name is unique and names the caller in the audit log.
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
	// TokenFile is read relative to the config file's folder; surrounding
	// white space is dropped.
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`
	// Scopes are ScopeGate, ScopeEvents, ScopeOverride and ScopeAdmin; at
	// least one. ScopeAdmin carries all the others (see Has).
	Scopes []string `yaml:"scopes"`
	// Services, when set, limits the token to these services (names of
	// services[]): it cannot ask about, read, or post events, overrides or
	// freezes for any other, nor ones that name no service.
	Services []string `yaml:"services"`
	// PatchPrefixes, when set, limits the token to patch ids starting with
	// one of these.
	PatchPrefixes []string `yaml:"patch_prefixes"`
	// Value is the resolved secret (filled by Parse for an inline token,
	// by Load for all; never serialised).
	Value string `yaml:"-"`
}

// Service is one service the gate decides for.
type Service struct {
	// Name is unique and matches [a-zA-Z0-9_.-]+.
	Name string `yaml:"name" json:"name"`
	// Team owns the service (used in alert labels later).
	Team string `yaml:"team" json:"team,omitempty"`
	SLI  SLI    `yaml:"sli" json:"sli"`
	SLO  SLO    `yaml:"slo" json:"slo"`
	// Checks are the service's default checks; a stage's checks replace
	// them check by check (see EffectiveChecks).
	Checks Checks  `yaml:"checks" json:"checks"`
	Stages []Stage `yaml:"stages" json:"stages"`
	// Controls are this service's windows, freezes and emergency policy
	// (see Config.EffectiveControls).
	Controls *Controls `yaml:"controls" json:"controls,omitempty"`
	// Mode is "enforce" (default) or "shadow": in shadow mode the gate
	// evaluates, records and explains as usual but always answers go,
	// with the verdict it evaluated beside it (docs/shadow.md).
	Mode Mode `yaml:"mode" json:"mode,omitempty"`
}

// SLI holds the service's request and error queries, in Sloth's form:
// per-second rates with {{.window}} where the range goes, e.g.
// sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}])).
type SLI struct {
	Errors string `yaml:"errors" json:"errors"`
	Total  string `yaml:"total" json:"total"`
	// Canary and Baseline are label selectors such as
	// {track="canary", version="{{.patch_id}}"} added to every series the
	// queries read. Label values may use {{.service}}, {{.patch_id}},
	// {{.stage}}, {{.attempt}} and {{.params.NAME}}; they are inserted only
	// as escaped label values.
	Canary   string `yaml:"canary" json:"canary"`
	Baseline string `yaml:"baseline" json:"baseline"`
}

// SLO is the service objective.
type SLO struct {
	// Objective in percent, e.g. 99.9 (as in Sloth); required, between 0
	// and 100 exclusive.
	Objective float64 `yaml:"objective" json:"objective"`
	// Period is the SLO period (default 30d).
	Period Duration `yaml:"period" json:"period"`
	// Name is the SLO's name in Sloth's rules, the sloth_slo label
	// (default "requests").
	Name string `yaml:"name" json:"name,omitempty"`
	// Specs are more SLOs of the service, as Sloth prometheus/v1 or
	// OpenSLO v1alpha files (relative to the config file's folder); their
	// service must be this one. See slo_rules.go.
	Specs []string `yaml:"specs" json:"specs,omitempty"`
	// SlothRulesDeployed says the rules `patchgate generate rules` writes
	// for this service are loaded in the Prometheus the gate reads: the
	// burn_rate check then reads Sloth's recording rules
	// (slo:sli_error:ratio_rate1h ...) instead of running the SLI queries.
	SlothRulesDeployed bool `yaml:"sloth_rules_deployed" json:"sloth_rules_deployed,omitempty"`
}

// OnFutility is a stage's on_futility.
type OnFutility string

// The stage's choices once a decision is out of reach.
const (
	FutilityAnswer OnFutility = "answer"
	FutilityWait   OnFutility = "wait"
)

// Stage is one step of a rollout (canary, 25%, 50%, 100% ...).
type Stage struct {
	// Name is unique within the service.
	Name string `yaml:"name" json:"name"`
	// MaxWait is how long the stage may stay inconclusive (default 60m;
	// whole minutes from 3m to 24h). It also fixes the number of looks of
	// the sequential test: one per minute.
	MaxWait Duration `yaml:"max_wait" json:"max_wait"`
	// OnTimeout is the answer once MaxWait has passed inconclusive:
	// "no_go" (default) or "go".
	OnTimeout Verdict `yaml:"on_timeout" json:"on_timeout"`
	// OnFutility is what the stage does once the sequential test can no
	// longer reach a decision before MaxWait at the traffic seen so far:
	// "answer" (default) gives the OnTimeout answer at once, saying why;
	// "wait" waits out MaxWait.
	OnFutility OnFutility `yaml:"on_futility" json:"on_futility"`
	// Checks replace the service's checks one by one: a check set here
	// replaces the service's whole check, and the fields it leaves out take
	// their defaults, not the service's values.
	Checks Checks `yaml:"checks" json:"checks"`
	// Disable switches off service checks for this stage by name, e.g.
	// [error_delta, min_traffic] at 100%, where no baseline is left.
	Disable []string `yaml:"disable" json:"disable,omitempty"`
	// Mode replaces the service's mode for this stage ("enforce" or
	// "shadow"; default: the service's). See Service.EffectiveMode.
	Mode Mode `yaml:"mode" json:"mode,omitempty"`
}

// Checks configures each check; a nil check is off. Parse never turns a
// check on: `freshness: {}` turns it on with its defaults, and a check
// written with an empty (null) value is an error, as it reads like "on".
type Checks struct {
	ErrorDelta *ErrorDelta `yaml:"error_delta" json:"error_delta,omitempty"`
	MinTraffic *MinTraffic `yaml:"min_traffic" json:"min_traffic,omitempty"`
	BurnRate   *BurnRate   `yaml:"burn_rate" json:"burn_rate,omitempty"`
	Alerts     *Alerts     `yaml:"alerts" json:"alerts,omitempty"`
	Freshness  *Freshness  `yaml:"freshness" json:"freshness,omitempty"`
	// LatencyDelta compares the canary's share of slow requests with the
	// baseline's (see latency.go).
	LatencyDelta *LatencyDelta `yaml:"latency_delta" json:"latency_delta,omitempty"`
	// PromQL are the user's own checks, each a query with a threshold (see
	// promql_check.go). A stage that sets the list replaces the service's whole list.
	PromQL []PromQLCheck `yaml:"promql" json:"promql,omitempty"`
}

// ErrorDelta compares the canary's error rate with the baseline's.
type ErrorDelta struct {
	// MarginPP is the tolerated regression in percentage points (default
	// 0.5; between 0 and 100 exclusive).
	MarginPP float64 `yaml:"margin_pp" json:"margin_pp"`
	// Alpha is the error rate of each one-sided rule (default 0.05; between
	// 0 and 0.5 exclusive).
	Alpha float64 `yaml:"alpha" json:"alpha"`
	// Method is "pocock" (default: group-sequential over the stage's
	// looks) or "confidence_sequence" (open-ended).
	Method Method `yaml:"method" json:"method"`
}

// MinTraffic asks for a minimum of canary requests over the stage.
type MinTraffic struct {
	// Requests is required and greater than 0 (no default).
	Requests float64 `yaml:"requests" json:"requests"`
}

// BurnRate checks the error-budget burn over multi-window pairs and the
// budget remaining over the SLO period.
type BurnRate struct {
	// Windows default to the SRE workbook's page pairs: 1h/5m at 14.4 and
	// 6h/30m at 6.
	Windows []BurnWindow `yaml:"windows" json:"windows"`
	// MinBudgetRemaining is the smallest budget fraction left (0 to below
	// 1) that still passes (default 0: budget not exhausted).
	MinBudgetRemaining float64 `yaml:"min_budget_remaining" json:"min_budget_remaining"`
}

// BurnWindow is one long/short pair, both over Factor to fail;
// Long > Short > 0 and Factor > 0.
type BurnWindow struct {
	Long   Duration `yaml:"long" json:"long"`
	Short  Duration `yaml:"short" json:"short"`
	Factor float64  `yaml:"factor" json:"factor"`
}

// Alerts fails the stage while page alerts fire for the service.
type Alerts struct {
	// Selector picks the alerts (default {severity="page"}); the service
	// label is added to it.
	Selector string `yaml:"selector" json:"selector"`
	// ServiceLabel is the alert label holding the service name (default "service").
	ServiceLabel string `yaml:"service_label" json:"service_label"`
	// PauseNonCritical names alerts (any severity) that, while firing for
	// the service, pause every patch that is not critical, e.g.
	// PatchgateErrorBudgetUsedByPatching: patching has used more than 25%
	// of the week's error budget. Critical patches still pass.
	PauseNonCritical []string `yaml:"pause_non_critical_on" json:"pause_non_critical_on,omitempty"`
}

// Freshness refuses stale or absent series.
type Freshness struct {
	// MaxAge is the oldest last sample that still counts as fresh (default 3m).
	MaxAge Duration `yaml:"max_age" json:"max_age"`
}

// Duration is a time.Duration written as Prometheus durations: 30s, 5m, 1h,
// 7d, 1w. It reads and writes that form in YAML and JSON.
type Duration time.Duration
