package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/report"
	"github.com/patchgate/patchgate/server"
)

const reportUsage = "usage: patchgate report --config patchgate.yaml --out FILE [--format html|csv|json] [--period 30d]"

// runReport writes the coverage report over the period ending now.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	path := fs.String("config", "patchgate.yaml", "configuration file (metric source, store, targets)")
	format := fs.String("format", "html", "html (one self-contained page), csv or json")
	out := fs.String("out", "", `file to write ("-": standard output)`)
	periodFlag := fs.String("period", "30d", "period ending now, as a Prometheus duration (1h to 400d)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !slices.Contains(report.Formats, *format) {
		return fmt.Errorf("--format %q: want html, csv or json", *format)
	}
	if *out == "" {
		return errors.New("--out is required (" + reportUsage + ")")
	}
	d, err := model.ParseDuration(*periodFlag)
	if err != nil {
		return fmt.Errorf("--period %q: %w", *periodFlag, err)
	}
	period := time.Duration(d)
	if err := report.CheckPeriod(period); err != nil {
		return fmt.Errorf("--period: %w", err)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	src, err := openSource(cfg.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()

	rc := reportConfig(cfg, period, time.Now)
	rc.Source, rc.Events = src, st
	r, err := report.Build(ctx, rc)
	if err != nil {
		return err
	}
	if *out == "-" {
		return report.Write(stdout, r, *format)
	}
	if err := writeReportAtomic(*out, func(w io.Writer) error { return report.Write(w, r, *format) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: coverage report (%s) over %s to %s; coverage %s, %d patch(es) open past %g days, %d rollback(s), %d incident(s)\n",
		*out, *format, r.Period.Length, r.Period.End.Format(time.RFC3339), percent(r.Coverage.Overall.Ratio),
		r.Exposure.OverTarget, r.Targets.ExposureDays, r.Rollbacks.Total, r.Incidents.Total)
	for _, n := range r.Notes {
		fmt.Fprintf(stdout, "  note: %s\n", n)
	}
	return nil
}

func percent(r *float64) string {
	if r == nil {
		return "unknown (no data)"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

// reportConfig is the report's configuration from patchgate.yaml: its
// targets and how to name its sources. Source and Events are left to the
// caller.
func reportConfig(cfg *config.Config, period time.Duration, now func() time.Time) report.Config {
	t := cfg.Targets
	targets := report.Targets{
		Coverage:     t.PatchCoverage / 100,
		Compliance:   t.CompliancePass / 100,
		ExposureDays: time.Duration(t.ExposureWindow).Hours() / 24,
		TimeTo: map[string]float64{
			report.TimeToDiscover: time.Duration(t.TimeToDiscover).Seconds(),
			report.TimeToTest:     time.Duration(t.TimeToTest).Seconds(),
			report.TimeToDeploy:   time.Duration(t.TimeToDeploy).Seconds(),
		},
	}
	if now == nil {
		now = time.Now
	}
	return report.Config{Period: period, Now: now, Targets: targets,
		DataSource: describeSource(cfg.Source), Store: describeStore(cfg.Store)}
}

// describeSource names the metric source for a reader, without secrets.
func describeSource(s config.Source) string {
	switch s.Type {
	case "embedded":
		return "the demo's embedded Prometheus engine (simulated fleet)"
	case "prometheus":
		u, err := url.Parse(s.URL)
		if err != nil {
			return "a Prometheus HTTP API"
		}
		u.User = nil
		u.RawQuery = ""
		return "Prometheus HTTP API at " + u.String()
	}
	return s.Type
}

// describeStore names the store for a reader: the driver, never the DSN.
func describeStore(s config.Store) string {
	switch s.Driver {
	case "", "sqlite":
		return "SQLite store"
	case "postgres", "postgresql", "pgx":
		return "PostgreSQL store"
	}
	return s.Driver + " store"
}

// uiConfig is what the server's web UI and /reports/coverage read.
func (a *app) uiConfig(cfg *config.Config, now func() time.Time) server.UIConfig {
	return server.UIConfig{
		Report: func(ctx context.Context, period time.Duration) (*report.Report, error) {
			rc := reportConfig(cfg, period, now)
			rc.Source, rc.Events = a.source, a.store
			return report.Build(ctx, rc)
		},
		Controls: a.store,
		// Replicas share ui.session_key_file (or _env); without it each
		// process signs its own sessions.
		SessionKey: a.sessionKey,
		SessionTTL: time.Duration(cfg.UI.SessionTTL),
		// The decision page's chart runs the decision's queries again.
		Series: a.source,
	}
}

// writeReportAtomic writes a file through a temporary one in the same
// folder, so a reader never sees half a report.
func writeReportAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// printUIURLs tells the demo's user where the web UI and the report are.
func printUIURLs(w io.Writer, base string) {
	fmt.Fprintf(w, "\n  web UI:          %s/ui/   (sign in with the token above)\n", base)
	fmt.Fprintf(w, "  coverage report: %s/reports/coverage?format=html&period=6h   (also format=csv or json; the demo holds a few hours)\n", base)
}
