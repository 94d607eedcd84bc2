package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Webhook formats.
const (
	// FormatSlack is Slack's incoming-webhook JSON ({"text": ...}), which
	// Mattermost, Rocket.Chat and Teams' Slack-compatible hooks also read.
	FormatSlack = "slack"
	// FormatJSON is patchgate's own JSON: the decision's fields and a link.
	FormatJSON = "json"
)

var (
	webhookFormats  = []string{FormatSlack, FormatJSON}
	webhookVerdicts = []string{"go", "no_go", "wait"}
	webhookNameRE   = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

// Notify sends decisions to webhooks (the whole section is optional).
type Notify struct {
	Webhooks []Webhook `yaml:"webhooks" json:"webhooks,omitempty"`
}

// Webhook is one receiver of decisions.
type Webhook struct {
	// Name names the webhook in logs and metrics (letters, digits, '-'
	// and '_'); its URL, often a secret, never appears there.
	Name string `yaml:"name" json:"name"`
	// One of URL, URLFile (read relative to the config file's folder) and
	// URLEnv: Slack's webhook URLs are secrets, so prefer the last two.
	URL     string `yaml:"url" json:"-"`
	URLFile string `yaml:"url_file" json:"-"`
	URLEnv  string `yaml:"url_env" json:"-"`
	// Format is slack (default) or json.
	Format string `yaml:"format" json:"format"`
	// On lists the verdicts sent (default [no_go]); in shadow mode the
	// verdict the gate evaluated counts, not the go it answered.
	On []string `yaml:"on" json:"on"`
	// Shadow sends the decisions of stages in shadow mode too, marked
	// "shadow" in their text (default true).
	Shadow bool `yaml:"shadow" json:"shadow"`
	// Resolved is the URL read from URL, URLFile or URLEnv (by Load).
	Resolved string `yaml:"-" json:"-"`
}

// UI is what the web UI needs beyond the tokens.
type UI struct {
	// ExternalURL is where people reach this server, e.g.
	// https://patchgate.example.com: notifications link to its decision
	// pages. Required with notify webhooks.
	ExternalURL string `yaml:"external_url" json:"external_url,omitempty"`
	// SessionKeyFile or SessionKeyEnv holds the key (at least 32 bytes)
	// that signs sign-in sessions. Replicas behind one address must share
	// it; without one each process makes its own, and a session works
	// only on the replica that issued it and ends when it restarts.
	SessionKeyFile string `yaml:"session_key_file" json:"-"`
	SessionKeyEnv  string `yaml:"session_key_env" json:"-"`
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL Duration `yaml:"session_ttl" json:"session_ttl,omitempty"`
	// SessionKey is the resolved key (by Load).
	SessionKey string `yaml:"-" json:"-"`
}

// MinSessionKey is the shortest session key accepted, in bytes.
const MinSessionKey = 32

func applyNotifyDefaults(c *Config, set func(path string) bool) {
	for i := range c.Notify.Webhooks {
		w := &c.Notify.Webhooks[i]
		path := fmt.Sprintf("notify.webhooks[%d]", i)
		if !set(path + ".format") {
			w.Format = FormatSlack
		}
		if !set(path + ".on") {
			w.On = []string{"no_go"}
		}
		if !set(path + ".shadow") {
			w.Shadow = true
		}
	}
}

func validateNotify(c *Config, p *collector) {
	seen := map[string]bool{}
	for i, w := range c.Notify.Webhooks {
		path := fmt.Sprintf("notify.webhooks[%d]", i)
		switch {
		case !webhookNameRE.MatchString(w.Name):
			p.addf(path+".name", "must hold only letters, digits, '-' and '_', got %q", w.Name)
		case seen[w.Name]:
			p.addf(path+".name", "%q is used by another webhook", w.Name)
		}
		seen[w.Name] = true
		n := 0
		for _, v := range []string{w.URL, w.URLFile, w.URLEnv} {
			if v != "" {
				n++
			}
		}
		switch {
		case n == 0:
			p.addf(path, "one of url, url_file and url_env is required")
		case n > 1:
			p.addf(path+".url", "set only one of url, url_file and url_env")
		case w.URL != "":
			checkWebhookURL(p, path+".url", w.URL)
		}
		if !slices.Contains(webhookFormats, w.Format) {
			p.addf(path+".format", "must be one of %s, got %q", strings.Join(webhookFormats, ", "), w.Format)
		}
		if len(w.On) == 0 {
			p.addf(path+".on", "must list at least one of %s", strings.Join(webhookVerdicts, ", "))
		}
		for j, v := range w.On {
			if !slices.Contains(webhookVerdicts, v) {
				p.addf(fmt.Sprintf("%s.on[%d]", path, j), "must be one of %s, got %q", strings.Join(webhookVerdicts, ", "), v)
			}
		}
	}
	if len(c.Notify.Webhooks) > 0 && c.UI.ExternalURL == "" {
		p.addf("notify", "ui.external_url is required with webhooks: notifications link to the decision page")
	}
}

// checkWebhookURL checks a URL without quoting it: it may hold a secret.
func checkWebhookURL(p *collector, path, raw string) {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.addf(path, "must be an http or https URL (not shown: it may hold a secret)")
	}
}

func validateUI(u *UI, p *collector) {
	if u.ExternalURL != "" {
		if v, err := url.Parse(u.ExternalURL); err != nil || (v.Scheme != "http" && v.Scheme != "https") || v.Host == "" ||
			v.RawQuery != "" || v.Fragment != "" {
			p.addf("ui.external_url", "must be an http or https URL such as https://patchgate.example.com, got %q", u.ExternalURL)
		}
	}
	if u.SessionKeyFile != "" && u.SessionKeyEnv != "" {
		p.addf("ui.session_key_file", "set only one of session_key_file and session_key_env")
	}
	if u.SessionTTL < 0 {
		p.addf("ui.session_ttl", "must not be negative")
	}
}

// resolveNotify reads the webhook URLs and the session key for Load.
func (r *resolver) resolveNotify(c *Config) {
	for i := range c.Notify.Webhooks {
		w := &c.Notify.Webhooks[i]
		path := fmt.Sprintf("notify.webhooks[%d]", i)
		switch {
		case w.URL != "":
			w.Resolved = w.URL
		case w.URLFile != "":
			if v, ok := r.file(path+".url_file", w.URLFile); ok {
				w.Resolved = v
				checkWebhookURL(&r.problems, path+".url_file", v)
			}
		case w.URLEnv != "":
			if v, ok := r.env(path+".url_env", w.URLEnv); ok {
				w.Resolved = v
				checkWebhookURL(&r.problems, path+".url_env", v)
			}
		}
	}
	u := &c.UI
	var key, path string
	var ok bool
	switch {
	case u.SessionKeyFile != "":
		path = "ui.session_key_file"
		key, ok = r.file(path, u.SessionKeyFile)
	case u.SessionKeyEnv != "":
		path = "ui.session_key_env"
		key, ok = r.env(path, u.SessionKeyEnv)
	}
	if ok {
		if len(key) < MinSessionKey {
			r.problems.addf(path, "the session key is %d bytes, at least %d needed (e.g. openssl rand -base64 48)", len(key), MinSessionKey)
			return
		}
		u.SessionKey = key
	}
}
