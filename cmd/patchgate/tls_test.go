package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for localhost (a server) or a
// client, with the given serial number.
func (ca testCA) issue(t *testing.T, serial int64, client bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "patchgate"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// loadConfigText writes a configuration to a file of its own and loads
// it, as serve would.
func loadConfigText(t *testing.T, text string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "patchgate.yaml")
	writeFile(t, path, []byte(text))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// serveTLS serves an "ok" handler with the TLS files of files until the
// test ends, and returns its address.
func serveTLS(t *testing.T, files config.TLS) string {
	t.Helper()
	certs, err := newCertReloader(files, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	go func() { done <- serveHTTP(ctx, ln, h, io.Discard, serveTimeouts(0), certs.serverConfig()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveHTTP: %v", err)
		}
	})
	return ln.Addr().String()
}

// get asks https://addr/ on a new connection and returns the serial of
// the server's certificate.
func get(t *testing.T, addr string, roots *x509.CertPool, clientCert *tls.Certificate) (int64, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots}
	if clientCert != nil {
		cfg.Certificates = []tls.Certificate{*clientCert}
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + addr + "/")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), nil
}

// A renewed certificate written over the files is served from the next
// connection on, without a restart; files that cannot be used keep the
// previous certificate.
func TestTLSCertificateRotation(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "patchgate test CA")
	files := config.TLS{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")}
	cert, key := ca.issue(t, 100, false)
	writeFile(t, files.CertFile, cert)
	writeFile(t, files.KeyFile, key)
	addr := serveTLS(t, files)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)

	if serial, err := get(t, addr, roots, nil); err != nil || serial != 100 {
		t.Fatalf("first certificate: serial %d, %v; want 100", serial, err)
	}
	cert, key = ca.issue(t, 200, false)
	writeFile(t, files.CertFile, cert)
	writeFile(t, files.KeyFile, key)
	if serial, err := get(t, addr, roots, nil); err != nil || serial != 200 {
		t.Errorf("after rotation: serial %d, %v; want 200", serial, err)
	}
	// A half-written rotation: the new key does not match the certificate.
	_, otherKey := ca.issue(t, 300, false)
	writeFile(t, files.KeyFile, otherKey)
	if serial, err := get(t, addr, roots, nil); err != nil || serial != 200 {
		t.Errorf("with a key that does not match: serial %d, %v; want the previous certificate, 200", serial, err)
	}
}

// With client_ca_file, a client must present a certificate of that CA.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "other CA")
	files := config.TLS{CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key"), ClientCAFile: filepath.Join(dir, "ca.crt")}
	cert, key := serverCA.issue(t, 1, false)
	writeFile(t, files.CertFile, cert)
	writeFile(t, files.KeyFile, key)
	writeFile(t, files.ClientCAFile, clientCA.pem)
	addr := serveTLS(t, files)
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)

	clientPair := func(ca testCA) *tls.Certificate {
		c, k := ca.issue(t, 7, true)
		pair, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return &pair
	}
	if _, err := get(t, addr, roots, nil); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("without a client certificate: %v, want the handshake refused (certificate required)", err)
	}
	if _, err := get(t, addr, roots, clientPair(otherCA)); err == nil {
		t.Error("with a client certificate of another CA: served, want refused")
	}
	if _, err := get(t, addr, roots, clientPair(clientCA)); err != nil {
		t.Errorf("with a client certificate of the client CA: %v", err)
	}
}
