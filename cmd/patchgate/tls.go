package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/patchgate/patchgate/internal/config"
)

// certReloader serves the certificate of tls.cert_file and key_file and
// the CAs of client_ca_file, and reads them again when one of the files
// changes (a renewed certificate written by cert-manager, a Secret
// remounted by the kubelet): each handshake compares the files' size and
// modification time with those it last read, which costs a stat per file.
// A file that cannot be used (half written, a key that no longer matches)
// is logged and the previous certificate kept.
type certReloader struct {
	files  config.TLS
	logger *slog.Logger

	mu      sync.Mutex
	stamp   []fileStamp
	current *tls.Config
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func newCertReloader(files config.TLS, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{files: files, logger: logger}
	if err := r.load(r.stamps()); err != nil {
		return nil, err
	}
	return r, nil
}

// serverConfig is the *tls.Config for http.Server.TLSConfig.
func (r *certReloader) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetConfigForClient: r.configForClient,
	}
}

func (r *certReloader) configForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.stamps(); !slices.EqualFunc(now, r.stamp, sameStamp) {
		if err := r.load(now); err != nil {
			r.logger.Error("TLS files changed but cannot be used; serving the previous certificate", "err", err)
			r.stamp = now // log once per change
		} else {
			r.logger.Info("TLS files changed: certificate reloaded", "cert_file", r.files.CertFile)
		}
	}
	return r.current, nil
}

// load reads the files; stamp is what they looked like before.
func (r *certReloader) load(stamp []fileStamp) error {
	f, err := config.LoadTLSFiles(r.files)
	if err != nil {
		return err
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{f.Certificate},
		NextProtos: []string{"h2", "http/1.1"}}
	if f.ClientCAs != nil {
		c.ClientCAs = f.ClientCAs
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	r.current, r.stamp = c, stamp
	return nil
}

func (r *certReloader) stamps() []fileStamp {
	out := make([]fileStamp, 0, 3)
	for _, name := range []string{r.files.CertFile, r.files.KeyFile, r.files.ClientCAFile} {
		var s fileStamp
		if name != "" {
			if fi, err := os.Stat(name); err == nil {
				s = fileStamp{size: fi.Size(), mod: fi.ModTime()}
			}
		}
		out = append(out, s)
	}
	return out
}

func sameStamp(a, b fileStamp) bool { return a.size == b.size && a.mod.Equal(b.mod) }

// describeTLS says how serve listens, for its first line.
func describeTLS(t config.TLS) string {
	switch {
	case t.ClientCAFile != "":
		return fmt.Sprintf("https (mutual TLS, client CAs %s)", t.ClientCAFile)
	case t.Enabled():
		return "https"
	}
	return "http"
}
