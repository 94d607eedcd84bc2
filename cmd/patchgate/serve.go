package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	path := fs.String("config", "patchgate.yaml", "configuration file")
	listen := fs.String("listen", "", "listen address (default: the config's listen, else :8080)")
	noAuth := fs.Bool("insecure-no-auth", false, "serve without bearer tokens (never in production)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if len(cfg.Tokens) == 0 && !*noAuth {
		return fmt.Errorf("%s defines no tokens: add tokens (scopes gate, events, override, admin) or pass --insecure-no-auth", *path)
	}
	addr := cfg.Listen
	if *listen != "" {
		addr = *listen
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	for _, w := range cfg.Warnings {
		logger.Warn("config", "warning", w.Error())
	}
	a, err := newApp(ctx, cfg, appOptions{insecureNoAuth: *noAuth, logger: logger})
	if err != nil {
		return err
	}
	defer a.Close()
	// SIGHUP or a change of the file reloads the config (reload.go).
	a.watchReloads(ctx, *path, configPollInterval)
	var tlsConfig *tls.Config
	if cfg.TLS.Enabled() {
		certs, err := newCertReloader(cfg.TLS, logger)
		if err != nil {
			return err
		}
		tlsConfig = certs.serverConfig()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "patchgate serving %d service(s) on %s://%s (%s; metric source %s %s, store %s)\n",
		len(cfg.Services), scheme, ln.Addr(), describeTLS(cfg.TLS), cfg.Source.Type, metricsource.RedactURL(cfg.Source.URL), cfg.Store.Driver)
	if *noAuth {
		fmt.Fprintln(stdout, "WARNING: --insecure-no-auth: anyone who can reach this port can ask the gate")
	}
	return serveHTTP(ctx, ln, a.Handler(), stdout, serveTimeouts(time.Duration(cfg.Source.Timeout)), tlsConfig)
}

// configPollInterval is how often serve looks for a change of its config
// file: a ConfigMap's update reaches the pod within a minute or so anyway.
const configPollInterval = 10 * time.Second

// httpTimeouts bound every connection, so that a client that trickles its
// headers or body, never reads the answer, or idles is cut instead of
// holding a connection and a goroutine.
type httpTimeouts struct {
	header time.Duration // to read the request line and headers
	read   time.Duration // to read the whole request, body included
	write  time.Duration // from the end of the headers to the end of the answer
	idle   time.Duration // between requests on a kept-alive connection
}

// serveTimeouts leaves a decision (and the report's range queries) room
// for several queries of the source's timeout before the write is cut.
func serveTimeouts(sourceTimeout time.Duration) httpTimeouts {
	return httpTimeouts{
		header: 10 * time.Second,
		read:   30 * time.Second,
		write:  max(2*time.Minute, 4*sourceTimeout),
		idle:   2 * time.Minute,
	}
}

// serveHTTP serves until ctx ends, then drains in-flight requests. With
// tlsConfig it serves HTTPS.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, stdout io.Writer, t httpTimeouts, tlsConfig *tls.Config) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: t.header, ReadTimeout: t.read, WriteTimeout: t.write, IdleTimeout: t.idle,
		TLSConfig: tlsConfig}
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "patchgate: stopping; draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
