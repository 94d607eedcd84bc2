package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const bearerConfig = `source:
  type: prometheus
  url: http://prometheus:9090
  bearer_token_file: FILE
services:
  - {name: api, sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}, slo: {objective: 99}, stages: [{name: all}]}
`

// TestBearerTokenFileFromConfigFolder: source.bearer_token_file is read
// from the config file's folder, as token_file is, whatever the working
// directory; a missing file is a problem naming the field and its line.
func TestBearerTokenFileFromConfigFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secrets", "prom.token"), []byte("prom-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // another folder: a relative path must not be read from here
	for _, tc := range []struct {
		file, want, problem string
	}{
		{file: "secrets/prom.token", want: "prom-secret-0123456789"},
		{file: filepath.Join(dir, "secrets", "prom.token"), want: "prom-secret-0123456789"},
		{file: "secrets/missing.token", problem: "patchgate.yaml:4:3: source.bearer_token_file: open " + filepath.Join(dir, "secrets", "missing.token")},
	} {
		checkFileField(t, dir, strings.ReplaceAll(bearerConfig, "FILE", tc.file), tc.file, tc.want, tc.problem,
			func(c *Config) string { return c.Source.BearerToken })
	}
}

// checkFileField writes text as dir/patchgate.yaml and loads it: the
// load must fail naming problem, or, with problem empty, succeed with got
// reading want (a value read from the file `file` the text names).
func checkFileField(t *testing.T, dir, text, file, want, problem string, got func(*Config) string) {
	t.Helper()
	path := filepath.Join(dir, "patchgate.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if problem != "" {
		if err == nil || !strings.Contains(err.Error(), problem) {
			t.Errorf("%s: error %v, want one containing %q", file, err, problem)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if v := got(c); v != want {
		t.Errorf("%s: read %q, want %q", file, v, want)
	}
}

// TestAuditKeyFile: store.audit_key_file is read from the config file's
// folder; a short key or a missing file is a problem naming the field.
func TestAuditKeyFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"audit.key": strings.Repeat("k", 40) + "\n", "short.key": "too short"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		file, want, problem string
	}{
		{file: "audit.key", want: strings.Repeat("k", 40)},
		{file: "short.key", problem: "store.audit_key_file: the key in short.key must be at least 32 characters, got 9"},
		{file: "missing.key", problem: "store.audit_key_file: open " + filepath.Join(dir, "missing.key")},
	} {
		text := strings.ReplaceAll(bearerConfig, "  bearer_token_file: FILE\n", "") + "store: {audit_key_file: " + tc.file + "}\n"
		checkFileField(t, dir, text, tc.file, tc.want, tc.problem, func(c *Config) string { return c.Store.AuditKey })
	}
}

// TestTokenLimits: a token's services must be defined services; prefixes
// must not be empty.
func TestTokenLimits(t *testing.T) {
	base := strings.ReplaceAll(bearerConfig, "  bearer_token_file: FILE\n", "") + `tokens:
  - {name: team-a, token: aaaaaaaaaaaaaaaaaaaa, scopes: [gate], LIMITS}
`
	for _, tc := range []struct{ limits, problem string }{
		{limits: "services: [api], patch_prefixes: [openssl-]"},
		{limits: "services: [api, web]", problem: `tokens[0].services[1]: undefined service "web"`},
		{limits: `patch_prefixes: [""]`, problem: "tokens[0].patch_prefixes[0]: must not be empty"},
	} {
		c, err := Parse("patchgate.yaml", []byte(strings.ReplaceAll(base, "LIMITS", tc.limits)))
		if tc.problem == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.limits, err)
			} else if c.Tokens[0].Services[0] != "api" || c.Tokens[0].PatchPrefixes[0] != "openssl-" {
				t.Errorf("%s: decoded %+v", tc.limits, c.Tokens[0])
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.problem) {
			t.Errorf("%s: error %v, want %q", tc.limits, err, tc.problem)
		}
	}
}
