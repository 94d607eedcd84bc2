package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/patchgate/patchgate/internal/config"
)

func init() { generators["integrations"] = runGenerateIntegrations }

// Defaults of `generate integrations`: patchgate installed as the Service
// patchgate in the namespace patchgate, its token in the Secret patchgate.
const (
	defaultIntegrationsURL = "http://patchgate.patchgate.svc:8080"
	defaultTokenSecret     = "patchgate"
	tokenSecretKey         = "token"
	// flaggerTokenVar is substituted into Flagger webhook URLs at deploy
	// time (Flux postBuild.substituteFrom, envsubst): Flagger has no
	// secret references and sends no headers.
	flaggerTokenVar = "PATCHGATE_TOKEN"
)

func runGenerateIntegrations(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate integrations", stderr)
	path := fs.String("config", "patchgate.yaml", "configuration file")
	out := fs.String("out", "", "folder to write into (created if missing)")
	base := fs.String("url", defaultIntegrationsURL, "patchgate's URL as the rollout tools reach it")
	secret := fs.String("token-secret", defaultTokenSecret, "Kubernetes Secret holding the gate token (key \"token\")")
	spinSecret := fs.String("spinnaker-secret", "", "Spinnaker secret reference (encrypted:<engine>!k:v…) to the whole Authorization value \"Bearer <token>\", for orca-local.yml")
	sensitive := fs.Bool("spinnaker-sensitive-headers", false, "write Authorization under sensitiveHeaders (Spinnaker with spinnaker/spinnaker#7421), kept out of the execution context")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *spinSecret != "" {
		if err := checkSpinnakerSecret(*spinSecret); err != nil {
			return err
		}
	}
	if *out == "" {
		return errors.New("missing --out")
	}
	if u, err := url.Parse(*base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url must be an http or https URL such as %s, got %q", defaultIntegrationsURL, *base)
	}
	if !dnsName.MatchString(*secret) {
		return fmt.Errorf("--token-secret must be a Kubernetes Secret name (lower case letters, digits, '-', '.'), got %q", *secret)
	}
	data, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	// Parse, not Load: the manifests need no secrets.
	cfg, err := config.Parse(*path, data)
	if err != nil {
		return err
	}
	files, err := integrationFiles(cfg, integrationOptions{url: strings.TrimRight(*base, "/"), secret: *secret,
		spinnakerSecret: *spinSecret, sensitiveHeaders: *sensitive})
	if err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(*out, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %d files for %d services into %s:\n", len(files), len(cfg.Services), *out)
	for _, f := range files {
		fmt.Fprintf(stdout, "  %-48s %s\n", f.path, f.what)
	}
	return nil
}

type integrationOptions struct {
	url    string // without a trailing slash
	secret string
	// spinnakerSecret is the encrypted: reference for orca-local.yml
	// ("" writes a placeholder in Spinnaker's form).
	spinnakerSecret  string
	sensitiveHeaders bool
}

type generatedFile struct {
	path string // relative to --out
	what string // one line for the user
	data []byte
}

var (
	dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	unsafe  = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)
)

// k8sName turns a service name ([a-zA-Z0-9_.-]+) into a Kubernetes object
// name.
func k8sName(s string) string {
	return strings.Trim(strings.ReplaceAll(strings.ToLower(s), "_", "-"), "-.")
}

// fileName keeps a stage name usable as a file name.
func fileName(s string) string { return unsafe.ReplaceAllString(s, "_") }

// integrationFiles renders every manifest, checking that no two services
// or stages end up in the same file or object name.
func integrationFiles(cfg *config.Config, opt integrationOptions) ([]generatedFile, error) {
	var files []generatedFile
	taken := map[string]string{}
	add := func(owner string, render func() (generatedFile, error)) error {
		f, err := render()
		if err != nil {
			return fmt.Errorf("%s: %w", owner, err)
		}
		if other, dup := taken[f.path]; dup {
			return fmt.Errorf("%s and %s would both be written to %s: rename one", other, owner, f.path)
		}
		taken[f.path] = owner
		files = append(files, f)
		return nil
	}
	if err := add("Spinnaker", func() (generatedFile, error) { return spinnakerOrcaLocal(opt) }); err != nil {
		return nil, err
	}
	for i := range cfg.Services {
		svc := &cfg.Services[i]
		owner := fmt.Sprintf("service %q", svc.Name)
		if k8sName(svc.Name) == "" {
			return nil, fmt.Errorf("%s has no usable Kubernetes name", owner)
		}
		if err := add(owner, func() (generatedFile, error) { return flaggerWebhooks(cfg, svc, opt) }); err != nil {
			return nil, err
		}
		for j := range svc.Stages {
			st := &svc.Stages[j]
			owner := fmt.Sprintf("service %q stage %q", svc.Name, st.Name)
			if err := add(owner, func() (generatedFile, error) { return argoTemplate(svc, st, opt) }); err != nil {
				return nil, err
			}
			if err := add(owner, func() (generatedFile, error) { return spinnakerStage(svc, st, opt) }); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

// marshalYAML writes a commented YAML document.
func marshalYAML(comment string, v any, opts ...yaml.EncodeOption) ([]byte, error) {
	body, err := yaml.MarshalWithOptions(v, append([]yaml.EncodeOption{yaml.IndentSequence(true)}, opts...)...)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for line := range strings.SplitSeq(strings.TrimRight(comment, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+line, " "))
		b.WriteByte('\n')
	}
	b.Write(body)
	return b.Bytes(), nil
}

func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
