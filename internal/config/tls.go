package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TLS is how `patchgate serve` serves HTTPS. Without cert_file it serves
// plain HTTP (behind a TLS-terminating proxy or a service mesh).
type TLS struct {
	// CertFile and KeyFile are the PEM certificate (chain) and key; both
	// or neither. serve reads them again when either file changes, so a
	// renewed certificate (cert-manager, a mounted Secret) is picked up
	// without a restart. A relative path is read from the config's folder.
	CertFile string `yaml:"cert_file" json:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file" json:"key_file,omitempty"`
	// ClientCAFile, when set, turns on mutual TLS: a client must present a
	// certificate signed by one of these PEM CAs, else the handshake fails.
	ClientCAFile string `yaml:"client_ca_file" json:"client_ca_file,omitempty"`
}

// Enabled reports whether serve speaks TLS.
func (t TLS) Enabled() bool { return t.CertFile != "" }

func validateTLS(t *TLS, p *collector) {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		p.addf("tls.key_file", "required with cert_file")
	case t.CertFile == "" && t.KeyFile != "":
		p.addf("tls.cert_file", "required with key_file")
	case t.CertFile == "" && t.ClientCAFile != "":
		p.addf("tls.client_ca_file", "needs cert_file and key_file: mutual TLS is TLS first")
	}
}

// resolveTLS makes the TLS files' paths absolute (from the config's
// folder) and checks they hold a usable key pair and CA certificates.
func (r *resolver) resolveTLS(t *TLS) {
	if !t.Enabled() {
		return
	}
	abs := func(name string) string {
		if name == "" || filepath.IsAbs(name) {
			return name
		}
		return filepath.Join(r.dir, name)
	}
	t.CertFile, t.KeyFile, t.ClientCAFile = abs(t.CertFile), abs(t.KeyFile), abs(t.ClientCAFile)
	if _, err := LoadTLSFiles(*t); err != nil {
		var fe *TLSFileError
		if errors.As(err, &fe) {
			r.problems.addf(fe.Field, "%v", fe.Err)
		}
	}
}

// TLSFiles is what the TLS files hold.
type TLSFiles struct {
	Certificate tls.Certificate
	// ClientCAs is nil without client_ca_file.
	ClientCAs *x509.CertPool
}

// TLSFileError names the tls field whose file could not be used.
type TLSFileError struct {
	Field string
	Err   error
}

func (e *TLSFileError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *TLSFileError) Unwrap() error { return e.Err }

// LoadTLSFiles reads the key pair and the client CAs of t.
func LoadTLSFiles(t TLS) (TLSFiles, error) {
	var out TLSFiles
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return out, &TLSFileError{Field: "tls.cert_file", Err: fmt.Errorf("key pair %s, %s: %w", t.CertFile, t.KeyFile, err)}
	}
	out.Certificate = cert
	if t.ClientCAFile != "" {
		b, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return out, &TLSFileError{Field: "tls.client_ca_file", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return out, &TLSFileError{Field: "tls.client_ca_file", Err: fmt.Errorf("%s holds no PEM certificate", t.ClientCAFile)}
		}
		out.ClientCAs = pool
	}
	return out, nil
}
