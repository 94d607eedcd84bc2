package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tlsBase = `source: {type: embedded}
services:
  - name: web
    sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}
    slo: {objective: 99}
    stages: [{name: canary}]
`

// The tls section's files come in pairs, and Load reads them: a file
// that is no key pair is a problem at its line, and relative paths are
// read from the config's folder.
func TestTLSSection(t *testing.T) {
	for _, tc := range []struct{ name, tls, want string }{
		{"key without cert", "tls: {key_file: k.pem}", "f.yml:7:1: tls.cert_file: required with key_file"},
		{"cert without key", "tls: {cert_file: c.pem}", "f.yml:7:1: tls.key_file: required with cert_file"},
		{"mutual TLS without a certificate", "tls: {client_ca_file: ca.pem}", "f.yml:7:7: tls.client_ca_file: needs cert_file and key_file: mutual TLS is TLS first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yml", []byte(tlsBase+tc.tls+"\n"))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "patchgate.yaml")
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(tlsBase+"tls:\n  cert_file: tls.crt\n  key_file: tls.key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":8:3: tls.cert_file: key pair "+filepath.Join(dir, "tls.crt")) {
		t.Errorf("Load with a bad certificate: %v, want a problem at tls.cert_file naming the absolute path", err)
	}
}
