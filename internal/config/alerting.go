package config

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// Patch alerts that `patchgate generate alerts` writes (docs/alerts.md).
const (
	// Pages.
	AlertCanaryErrors   = "PatchgateCanaryErrors"
	AlertCanaryLatency  = "PatchgateCanaryLatency"
	AlertRollbackFailed = "PatchgateRollbackFailed"
	AlertMassNodeReboot = "PatchgateMassNodeReboot"
	AlertNoGoIgnored    = "PatchgateNoGoIgnored"
	// Tickets.
	AlertComplianceDrift      = "PatchgateComplianceDrift"
	AlertHostPatchFailed      = "PatchgateHostPatchFailed"
	AlertPatchFailed          = "PatchgatePatchFailed"
	AlertExposureWindow       = "PatchgateExposureWindowOverTarget"
	AlertCoverageUnderTarget  = "PatchgateCoverageUnderTarget"
	AlertBudgetUsedByPatching = "PatchgateErrorBudgetUsedByPatching"
)

// AlertNames lists the patch alerts, pages first.
func AlertNames() []string {
	return []string{
		AlertCanaryErrors, AlertCanaryLatency, AlertRollbackFailed, AlertMassNodeReboot, AlertNoGoIgnored,
		AlertComplianceDrift, AlertHostPatchFailed, AlertPatchFailed, AlertExposureWindow,
		AlertCoverageUnderTarget, AlertBudgetUsedByPatching,
	}
}

// DefaultAlertFor is each alert's pending period ("for") unless
// alerting.for sets another.
func DefaultAlertFor() map[string]Duration {
	const m, h = Duration(time.Minute), Duration(time.Hour)
	return map[string]Duration{
		AlertCanaryErrors:         5 * m,
		AlertCanaryLatency:        5 * m,
		AlertRollbackFailed:       0,
		AlertMassNodeReboot:       0,
		AlertNoGoIgnored:          0,
		AlertComplianceDrift:      h,
		AlertHostPatchFailed:      15 * m,
		AlertPatchFailed:          15 * m,
		AlertExposureWindow:       10 * m,
		AlertCoverageUnderTarget:  24 * h,
		AlertBudgetUsedByPatching: 0,
	}
}

// Defaults of the alerting section.
const (
	// DefaultRunbookURL is this repository's alert documentation: each
	// alert's heading is its anchor.
	DefaultRunbookURL            = "https://github.com/patchgate/patchgate/blob/main/docs/alerts.md#"
	DefaultMassRebootPercent     = 20.0
	DefaultRebootWindow          = Duration(10 * time.Minute)
	DefaultRollbackGrace         = Duration(15 * time.Minute)
	DefaultPatchingBudgetPercent = 25.0
	DefaultBudgetWindow          = Duration(7 * 24 * time.Hour)
	DefaultPageReceiver          = "patchgate-page"
	DefaultTicketReceiver        = "patchgate-ticket"
	DefaultGroupWait             = Duration(30 * time.Second)
	DefaultGroupInterval         = Duration(5 * time.Minute)
	DefaultRepeatInterval        = Duration(4 * time.Hour)
	DefaultTicketRepeatInterval  = Duration(24 * time.Hour)
)

// Alerting says how `patchgate generate alerts` writes the patch alerts
// and `patchgate generate alertmanager` their routing. The whole section
// is optional. The alerts' other targets (coverage, compliance, exposure
// window) are the lifecycle targets (targets:), the canary's margin each
// stage's error_delta margin_pp, and the patch windows that mute expected
// alerts are controls.windows (and each service's own).
type Alerting struct {
	// RunbookURL starts every alert's runbook_url annotation: the alert's
	// name in lower case is appended (default DefaultRunbookURL, this
	// repository's docs/alerts.md).
	RunbookURL string          `yaml:"runbook_url" json:"runbook_url"`
	Thresholds AlertThresholds `yaml:"thresholds" json:"thresholds"`
	// For sets the pending period of single alerts by name (defaults:
	// DefaultAlertFor).
	For       map[string]Duration `yaml:"for" json:"for,omitempty"`
	Receivers AlertReceivers      `yaml:"receivers" json:"receivers"`
	Route     AlertRoute          `yaml:"route" json:"route"`
}

// AlertThresholds are the numbers the alerts compare against.
type AlertThresholds struct {
	// MassRebootPercent: more than this share of a cluster's hosts (of a
	// service's hosts in the cluster, when node_boot_time_seconds carries a
	// service label) rebooting within RebootWindow pages (default 20).
	MassRebootPercent float64  `yaml:"mass_reboot_percent" json:"mass_reboot_percent"`
	RebootWindow      Duration `yaml:"reboot_window" json:"reboot_window"`
	// RollbackGrace is how long after a rolled_back event assets may still
	// be on the patch before the rollback counts as failed (default 15m).
	RollbackGrace Duration `yaml:"rollback_grace" json:"rollback_grace"`
	// PatchingBudgetPercent: patching that used more than this share of a
	// service SLO's error budget within BudgetWindow opens a ticket
	// (default 25% in 7d).
	PatchingBudgetPercent float64  `yaml:"patching_budget_percent" json:"patching_budget_percent"`
	BudgetWindow          Duration `yaml:"budget_window" json:"budget_window"`
}

// AlertReceivers are the Alertmanager receivers of pages and tickets.
type AlertReceivers struct {
	Page   AlertReceiver `yaml:"page" json:"page"`
	Ticket AlertReceiver `yaml:"ticket" json:"ticket"`
}

// AlertReceiver is one Alertmanager receiver. Without any integration it
// names a receiver the merged alertmanager.yml already defines. Secrets
// are only ever read from files (the *_file fields): patchgate never
// writes one into the generated configuration.
type AlertReceiver struct {
	// Name is the receiver's name (defaults patchgate-page and
	// patchgate-ticket); page and ticket must differ.
	Name      string             `yaml:"name" json:"name"`
	Webhook   *WebhookReceiver   `yaml:"webhook" json:"webhook,omitempty"`
	PagerDuty *PagerDutyReceiver `yaml:"pagerduty" json:"pagerduty,omitempty"`
	Slack     *SlackReceiver     `yaml:"slack" json:"slack,omitempty"`
	Opsgenie  *OpsgenieReceiver  `yaml:"opsgenie" json:"opsgenie,omitempty"`
	Email     *EmailReceiver     `yaml:"email" json:"email,omitempty"`
}

// Integrations reports whether r defines any notification integration.
func (r *AlertReceiver) Integrations() bool {
	return r.Webhook != nil || r.PagerDuty != nil || r.Slack != nil || r.Opsgenie != nil || r.Email != nil
}

// WebhookReceiver posts Alertmanager's webhook JSON to URL.
type WebhookReceiver struct {
	// URL is required, http or https, without credentials in it.
	URL string `yaml:"url" json:"url"`
	// BearerTokenFile, when set, is sent as "Authorization: Bearer".
	BearerTokenFile string `yaml:"bearer_token_file" json:"bearer_token_file,omitempty"`
}

// PagerDutyReceiver sends to a PagerDuty Events API v2 integration.
type PagerDutyReceiver struct {
	// RoutingKeyFile holds the integration key (required).
	RoutingKeyFile string `yaml:"routing_key_file" json:"routing_key_file"`
}

// SlackReceiver posts to a Slack incoming webhook.
type SlackReceiver struct {
	// APIURLFile holds the incoming webhook's URL (required).
	APIURLFile string `yaml:"api_url_file" json:"api_url_file"`
	// Channel such as #patching (required).
	Channel string `yaml:"channel" json:"channel"`
}

// OpsgenieReceiver creates Opsgenie alerts.
type OpsgenieReceiver struct {
	// APIKeyFile holds the API key (required).
	APIKeyFile string `yaml:"api_key_file" json:"api_key_file"`
}

// EmailReceiver mails the notification.
type EmailReceiver struct {
	// To, From and Smarthost (host:port) are required.
	To        string `yaml:"to" json:"to"`
	From      string `yaml:"from" json:"from"`
	Smarthost string `yaml:"smarthost" json:"smarthost"`
	// AuthUsername and AuthPasswordFile log in to the smarthost (both or
	// neither).
	AuthUsername     string `yaml:"auth_username" json:"auth_username,omitempty"`
	AuthPasswordFile string `yaml:"auth_password_file" json:"auth_password_file,omitempty"`
}

// AlertRoute holds the timings of patchgate's Alertmanager route.
type AlertRoute struct {
	// GroupWait (default 30s), GroupInterval (5m), RepeatInterval for
	// pages (4h) and TicketRepeatInterval for tickets (24h).
	GroupWait            Duration `yaml:"group_wait" json:"group_wait"`
	GroupInterval        Duration `yaml:"group_interval" json:"group_interval"`
	RepeatInterval       Duration `yaml:"repeat_interval" json:"repeat_interval"`
	TicketRepeatInterval Duration `yaml:"ticket_repeat_interval" json:"ticket_repeat_interval"`
}

// AlertFor returns the pending period of the named alert.
func (a *Alerting) AlertFor(name string) Duration {
	if d, ok := a.For[name]; ok {
		return d
	}
	return DefaultAlertFor()[name]
}

func applyAlertingDefaults(c *Config, set func(path string) bool) {
	a := &c.Alerting
	if !set("alerting.runbook_url") {
		a.RunbookURL = DefaultRunbookURL
	}
	t := &a.Thresholds
	if !set("alerting.thresholds.mass_reboot_percent") {
		t.MassRebootPercent = DefaultMassRebootPercent
	}
	if !set("alerting.thresholds.patching_budget_percent") {
		t.PatchingBudgetPercent = DefaultPatchingBudgetPercent
	}
	for _, d := range []struct {
		path string
		dst  *Duration
		def  Duration
	}{
		{"alerting.thresholds.reboot_window", &t.RebootWindow, DefaultRebootWindow},
		{"alerting.thresholds.rollback_grace", &t.RollbackGrace, DefaultRollbackGrace},
		{"alerting.thresholds.budget_window", &t.BudgetWindow, DefaultBudgetWindow},
		{"alerting.route.group_wait", &a.Route.GroupWait, DefaultGroupWait},
		{"alerting.route.group_interval", &a.Route.GroupInterval, DefaultGroupInterval},
		{"alerting.route.repeat_interval", &a.Route.RepeatInterval, DefaultRepeatInterval},
		{"alerting.route.ticket_repeat_interval", &a.Route.TicketRepeatInterval, DefaultTicketRepeatInterval},
	} {
		if !set(d.path) {
			*d.dst = d.def
		}
	}
	if !set("alerting.receivers.page.name") {
		a.Receivers.Page.Name = DefaultPageReceiver
	}
	if !set("alerting.receivers.ticket.name") {
		a.Receivers.Ticket.Name = DefaultTicketReceiver
	}
}

func validateAlerting(a *Alerting, p *collector) {
	if u, err := url.Parse(a.RunbookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.addf("alerting.runbook_url", "must be an http or https URL such as https://wiki.example.com/runbooks/patchgate/ (the alert's name in lower case is appended), got %q", a.RunbookURL)
	}
	t := a.Thresholds
	if !(t.MassRebootPercent > 0 && t.MassRebootPercent < 100) {
		p.addf("alerting.thresholds.mass_reboot_percent", "must be a percentage above 0 and below 100, got %v", t.MassRebootPercent)
	}
	if !(t.PatchingBudgetPercent > 0 && t.PatchingBudgetPercent <= 100) {
		p.addf("alerting.thresholds.patching_budget_percent", "must be a percentage above 0 and at most 100, got %v", t.PatchingBudgetPercent)
	}
	for _, d := range []struct {
		path string
		v    Duration
	}{
		{"alerting.thresholds.reboot_window", t.RebootWindow},
		{"alerting.thresholds.budget_window", t.BudgetWindow},
		{"alerting.route.group_wait", a.Route.GroupWait},
		{"alerting.route.group_interval", a.Route.GroupInterval},
		{"alerting.route.repeat_interval", a.Route.RepeatInterval},
		{"alerting.route.ticket_repeat_interval", a.Route.TicketRepeatInterval},
	} {
		if d.v <= 0 {
			p.addf(d.path, "must be greater than 0")
		}
	}
	names := AlertNames()
	keys := make([]string, 0, len(a.For))
	for k := range a.For {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(names, k) {
			p.addf("alerting.for."+k, "unknown alert %q: one of %s", k, strings.Join(names, ", "))
		}
	}
	validateReceiver(&a.Receivers.Page, "alerting.receivers.page", p)
	validateReceiver(&a.Receivers.Ticket, "alerting.receivers.ticket", p)
	if a.Receivers.Page.Name == a.Receivers.Ticket.Name && a.Receivers.Page.Name != "" {
		p.addf("alerting.receivers.ticket.name", "must differ from the page receiver's name (%q): pages and tickets are routed apart", a.Receivers.Page.Name)
	}
}

func validateReceiver(r *AlertReceiver, path string, p *collector) {
	if strings.TrimSpace(r.Name) == "" {
		p.addf(path+".name", "must not be empty")
	}
	required := func(field, value string) {
		if strings.TrimSpace(value) == "" {
			p.addf(path+"."+field, "required")
		}
	}
	if w := r.Webhook; w != nil {
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf(path+".webhook.url", "must be an http or https URL, got %q", w.URL)
		} else if u.User != nil {
			p.addf(path+".webhook.url", "must not hold credentials: put a bearer token in a file and name it in bearer_token_file")
		}
	}
	if r.PagerDuty != nil {
		required("pagerduty.routing_key_file", r.PagerDuty.RoutingKeyFile)
	}
	if s := r.Slack; s != nil {
		required("slack.api_url_file", s.APIURLFile)
		required("slack.channel", s.Channel)
	}
	if r.Opsgenie != nil {
		required("opsgenie.api_key_file", r.Opsgenie.APIKeyFile)
	}
	if e := r.Email; e != nil {
		required("email.to", e.To)
		required("email.from", e.From)
		required("email.smarthost", e.Smarthost)
		if (e.AuthUsername == "") != (e.AuthPasswordFile == "") {
			p.addf(path+".email", "set both auth_username and auth_password_file, or neither")
		}
	}
}

// WindowsOf returns the patch windows that apply to svc (its own, else the
// top-level ones) and whether they are its own.
func (c *Config) WindowsOf(svc *Service) ([]Window, bool) {
	if svc != nil && svc.Controls != nil && len(svc.Controls.Windows) > 0 {
		return svc.Controls.Windows, true
	}
	return c.Controls.Windows, false
}
