package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// minSecretLength is the shortest token a config may hold.
const minSecretLength = 16

var (
	sourceTypes  = []string{"prometheus", "embedded"}
	storeDrivers = []string{"sqlite", "postgres"}
	scopes       = []string{ScopeGate, ScopeEvents, ScopeOverride, ScopeAdmin}
)

// validate adds to p every problem of c, whose defaults are filled.
func validate(c *Config, p *collector) {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		p.addf("listen", "must be host:port such as \":8080\", got %q", c.Listen)
	}
	validateTLS(&c.TLS, p)
	validateSource(&c.Source, p)
	validateStore(&c.Store, p)
	validateTokens(c.Tokens, p)
	validateTokenLimits(c, p)
	validateServices(c.Services, p)
	validateOperatorControls(c, p)
	validateIntegrations(c, p)
	validateSLORules(c, p)
	validateGrafana(&c.Grafana, p)
	validateAlerting(&c.Alerting, p)
	validateUI(&c.UI, p)
	validateNotify(c, p)
}

func validateSource(s *Source, p *collector) {
	switch {
	case s.Type == "":
		p.addf("source.type", "required: one of %s", strings.Join(sourceTypes, ", "))
	case !slices.Contains(sourceTypes, s.Type):
		p.addf("source.type", "must be one of %s, got %q", strings.Join(sourceTypes, ", "), s.Type)
	case s.Type == "prometheus":
		if s.URL == "" {
			p.addf("source.url", "required when type is prometheus")
		} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.addf("source.url", "must be an http or https URL such as http://prometheus:9090, got %q", s.URL)
		}
	}
	if s.Timeout <= 0 {
		p.addf("source.timeout", "must be greater than 0")
	}
}

func validateStore(s *Store, p *collector) {
	if !slices.Contains(storeDrivers, s.Driver) {
		p.addf("store.driver", "must be one of %s, got %q", strings.Join(storeDrivers, ", "), s.Driver)
	}
	switch {
	case s.DSN != "" && s.DSNEnv != "":
		p.addf("store.dsn_env", "set only one of dsn and dsn_env")
	case s.Driver == "postgres" && s.DSN == "" && s.DSNEnv == "":
		p.addf("store.dsn", "postgres needs dsn or dsn_env")
	case s.Driver == "sqlite" && s.DSN == "" && s.DSNEnv == "":
		p.addf("store.dsn", "must not be empty")
	}
}

func validateTokens(tokens []Token, p *collector) {
	names := map[string]int{}
	for i, t := range tokens {
		path := fmt.Sprintf("tokens[%d]", i)
		switch first, dup := names[t.Name]; {
		case t.Name == "":
			p.addf(path+".name", "required")
		case dup:
			p.addf(path+".name", "%q is already the name of tokens[%d]", t.Name, first)
		default:
			names[t.Name] = i
		}

		var sources []string
		for _, s := range []struct{ field, value string }{
			{"token", t.Token}, {"token_file", t.TokenFile}, {"token_env", t.TokenEnv},
		} {
			if s.value != "" {
				sources = append(sources, s.field)
			}
		}
		switch {
		case len(sources) == 0:
			p.addf(path, "one of token, token_file, token_env is required")
		case len(sources) > 1:
			p.addf(path+"."+sources[1], "set only one of token, token_file, token_env (also has %s)", sources[0])
		case t.Token != "":
			checkSecretLength(p, path+".token", "the token", t.Token)
		}

		if len(t.Scopes) == 0 {
			p.addf(path+".scopes", "at least one scope is required: %s", strings.Join(scopes, ", "))
		}
		for j, s := range t.Scopes {
			if !slices.Contains(scopes, s) {
				p.addf(fmt.Sprintf("%s.scopes[%d]", path, j), "unknown scope %q: must be one of %s", s, strings.Join(scopes, ", "))
			}
		}
	}
}

// validateTokenLimits checks tokens[].services against services[] and
// that patch prefixes are not empty.
func validateTokenLimits(c *Config, p *collector) {
	for i, t := range c.Tokens {
		for j, name := range t.Services {
			if !slices.ContainsFunc(c.Services, func(s Service) bool { return s.Name == name }) {
				p.addf(fmt.Sprintf("tokens[%d].services[%d]", i, j), "undefined service %q", name)
			}
		}
		for j, prefix := range t.PatchPrefixes {
			if strings.TrimSpace(prefix) == "" {
				p.addf(fmt.Sprintf("tokens[%d].patch_prefixes[%d]", i, j), "must not be empty (an empty prefix allows every patch; leave patch_prefixes out instead)")
			}
		}
	}
}

func checkSecretLength(p *collector, path, what, secret string) {
	if n := len(secret); n < minSecretLength {
		p.addf(path, "%s must be at least %d characters, got %d", what, minSecretLength, n)
	}
}

// checkSecretsUnique reports tokens sharing a secret: the server could not
// tell which of them made a request.
func checkSecretsUnique(p *collector, tokens []Token) {
	seen := map[string]int{}
	for i, t := range tokens {
		if t.Value == "" {
			continue
		}
		if first, ok := seen[t.Value]; ok {
			p.addf(fmt.Sprintf("tokens[%d]", i), "has the same secret as tokens[%d]", first)
			continue
		}
		seen[t.Value] = i
	}
}
