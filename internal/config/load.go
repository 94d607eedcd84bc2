package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// Load reads and validates a config file; secrets referenced by
// token_file, token_env, dsn_env, store.audit_key_file and
// source.bearer_token_file are
// resolved. A relative file is read from the config file's folder.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, doc, err := parseConfig(path, data)
	if err != nil {
		return nil, err
	}
	r := resolver{
		dir:       filepath.Dir(path),
		lookupEnv: os.LookupEnv,
		readFile:  os.ReadFile,
		problems:  collector{file: path, doc: doc},
	}
	c.Dir = r.dir
	r.checkSpecFiles(c)
	if err := r.resolve(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse validates config bytes; filename is used in messages. Secrets in
// files and environment variables are left unresolved (see Load); inline
// tokens are checked and copied to Token.Value.
func Parse(filename string, data []byte) (*Config, error) {
	c, _, err := parseConfig(filename, data)
	return c, err
}

func parseConfig(filename string, data []byte) (*Config, *document, error) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, nil, Problems{decodeProblem(filename, nil, err)}
	}
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return nil, nil, Problems{{File: filename, Message: "empty config"}}
	}
	if len(file.Docs) > 1 {
		tk := file.Docs[1].Start
		if tk == nil {
			tk = file.Docs[1].Body.GetToken()
		}
		return nil, nil, Problems{{
			File:    filename,
			Line:    tk.Position.Line,
			Column:  tk.Position.Column,
			Message: fmt.Sprintf("expected one YAML document, found %d", len(file.Docs)),
		}}
	}
	body := file.Docs[0].Body
	doc := newDocument(body)
	var c Config
	// The parser has refused real duplicate keys already; the decoder's own
	// check would also refuse a key that overrides a merged one (<<).
	if err := yaml.NodeToValue(body, &c, yaml.Strict(), yaml.AllowDuplicateMapKey()); err != nil {
		return nil, nil, Problems{decodeProblem(filename, doc, err)}
	}
	applyDefaults(&c, doc.set)
	v := collector{file: filename, doc: doc}
	validate(&c, &v)
	if err := v.err(); err != nil {
		return nil, nil, err
	}
	v.warnings.sort()
	c.Warnings = v.warnings
	for i, t := range c.Tokens {
		if t.Token != "" {
			c.Tokens[i].Value = t.Token
		}
	}
	return &c, doc, nil
}

// resolver reads the secrets a config refers to.
type resolver struct {
	dir       string
	lookupEnv func(string) (string, bool)
	readFile  func(string) ([]byte, error)
	problems  collector
}

func (r *resolver) resolve(c *Config) error {
	for i := range c.Tokens {
		t := &c.Tokens[i]
		path := fmt.Sprintf("tokens[%d]", i)
		switch {
		case t.TokenFile != "":
			if v, ok := r.file(path+".token_file", t.TokenFile); ok {
				t.Value = v
				checkSecretLength(&r.problems, path+".token_file", "the secret in "+t.TokenFile, v)
			}
		case t.TokenEnv != "":
			if v, ok := r.env(path+".token_env", t.TokenEnv); ok {
				t.Value = v
				checkSecretLength(&r.problems, path+".token_env", "the value of "+t.TokenEnv, v)
			}
		}
	}
	checkSecretsUnique(&r.problems, c.Tokens)
	if c.Source.BearerTokenFile != "" {
		if v, ok := r.file("source.bearer_token_file", c.Source.BearerTokenFile); ok {
			c.Source.BearerToken = v
		}
	}
	r.resolveGrafana(&c.Grafana)
	if c.Store.AuditKeyFile != "" {
		if v, ok := r.file("store.audit_key_file", c.Store.AuditKeyFile); ok {
			c.Store.AuditKey = v
			if n := len(v); n < MinAuditKeyLength {
				r.problems.addf("store.audit_key_file", "the key in %s must be at least %d characters, got %d", c.Store.AuditKeyFile, MinAuditKeyLength, n)
			}
		}
	}
	r.resolveNotify(c)
	r.resolveTLS(&c.TLS)
	if c.Store.DSNEnv != "" {
		if v, ok := r.env("store.dsn_env", c.Store.DSNEnv); ok {
			c.Store.DSN = v
		}
	}
	return r.problems.err()
}

func (r *resolver) file(path, name string) (string, bool) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(r.dir, name)
	}
	b, err := r.readFile(name)
	if err != nil {
		r.problems.addf(path, "%v", err)
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func (r *resolver) env(path, name string) (string, bool) {
	v, ok := r.lookupEnv(name)
	switch {
	case !ok:
		r.problems.addf(path, "environment variable %s is not set", name)
		return "", false
	case strings.TrimSpace(v) == "":
		r.problems.addf(path, "environment variable %s is empty", name)
		return "", false
	}
	return strings.TrimSpace(v), true
}
