package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Grafana defaults.
const (
	DefaultGrafanaFolder    = "patchgate"
	DefaultGrafanaUIDPrefix = "patchgate"
)

// MaxGrafanaUIDPrefix is the longest uid prefix: the longest dashboard uid
// built on it ("<prefix>-executive") stays within Grafana's 40 characters.
const MaxGrafanaUIDPrefix = 24

var grafanaUIDPrefixRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// Grafana is where `patchgate publish` puts the dashboards and where
// `patchgate serve` annotates decisions. The whole section is optional.
type Grafana struct {
	// URL is Grafana's root, e.g. http://grafana:3000 (without /api).
	// Without it, decisions are not annotated and `patchgate publish`
	// needs --grafana-url.
	URL string `yaml:"url" json:"url,omitempty"`
	// TokenEnv names an environment variable holding a Grafana service
	// account token; TokenFile names a file holding one, read relative to
	// the config file's folder. At most one of the two; one is required
	// when URL is set.
	TokenEnv  string `yaml:"token_env" json:"-"`
	TokenFile string `yaml:"token_file" json:"-"`
	// Folder is the title of the folder the dashboards are published to
	// (default "patchgate"); its uid is UIDPrefix.
	Folder string `yaml:"folder" json:"folder"`
	// UIDPrefix starts every dashboard uid and is the folder's uid
	// (default "patchgate"): letters, digits, '-' and '_', at most 24
	// characters.
	UIDPrefix string `yaml:"uid_prefix" json:"uid_prefix"`
	// Annotations turns the annotation of every decision on the on-call
	// dashboard on or off (default true; only with URL).
	Annotations bool `yaml:"annotations" json:"annotations"`
	// Token is the resolved secret (filled by Load; never serialised).
	Token string `yaml:"-" json:"-"`
}

// Annotating reports whether decisions are to be annotated in Grafana.
func (g *Grafana) Annotating() bool { return g.URL != "" && g.Annotations }

// ReadToken reads the token that TokenEnv or TokenFile names, a relative
// file from dir; "" when neither is set. It is for commands that load the
// config without its secrets (LoadWithoutSecrets).
func (g *Grafana) ReadToken(dir string) (string, error) {
	switch {
	case g.TokenEnv != "":
		v := strings.TrimSpace(os.Getenv(g.TokenEnv))
		if v == "" {
			return "", fmt.Errorf("grafana.token_env: environment variable %s is not set or empty", g.TokenEnv)
		}
		return v, nil
	case g.TokenFile != "":
		name := g.TokenFile
		if !filepath.IsAbs(name) && dir != "" {
			name = filepath.Join(dir, name)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("grafana.token_file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("grafana.token_file: %s is empty", g.TokenFile)
		}
		return v, nil
	}
	return "", nil
}

func applyGrafanaDefaults(c *Config, set func(path string) bool) {
	g := &c.Grafana
	if !set("grafana.folder") {
		g.Folder = DefaultGrafanaFolder
	}
	if !set("grafana.uid_prefix") {
		g.UIDPrefix = DefaultGrafanaUIDPrefix
	}
	if !set("grafana.annotations") {
		g.Annotations = true
	}
}

func validateGrafana(g *Grafana, p *collector) {
	if g.URL != "" {
		if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf("grafana.url", "must be an http or https URL such as http://grafana:3000, got %q", g.URL)
		}
	}
	switch {
	case g.TokenEnv != "" && g.TokenFile != "":
		p.addf("grafana.token_file", "set only one of token_env and token_file")
	case g.URL != "" && g.TokenEnv == "" && g.TokenFile == "":
		p.addf("grafana", "token_env or token_file is required when url is set (a service account token with the Editor role)")
	}
	if strings.TrimSpace(g.Folder) == "" {
		p.addf("grafana.folder", "must not be empty")
	}
	switch {
	case !grafanaUIDPrefixRE.MatchString(g.UIDPrefix):
		p.addf("grafana.uid_prefix", "must hold only letters, digits, '-' and '_' (Grafana's uid rule), got %q", g.UIDPrefix)
	case len(g.UIDPrefix) > MaxGrafanaUIDPrefix:
		p.addf("grafana.uid_prefix", "must be at most %d characters so that dashboard uids stay within Grafana's 40, got %d", MaxGrafanaUIDPrefix, len(g.UIDPrefix))
	}
}

// resolveGrafana reads the Grafana token for Load.
func (r *resolver) resolveGrafana(g *Grafana) {
	switch {
	case g.TokenEnv != "":
		if v, ok := r.env("grafana.token_env", g.TokenEnv); ok {
			g.Token = v
		}
	case g.TokenFile != "":
		if v, ok := r.file("grafana.token_file", g.TokenFile); ok {
			if v == "" {
				r.problems.addf("grafana.token_file", "%s is empty", g.TokenFile)
				return
			}
			g.Token = v
		}
	}
}
