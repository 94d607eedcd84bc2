package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/dashboards"
	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
)

func init() { generators["dashboards"] = runGenerateDashboards }

// grafanaTokenEnv is read by `patchgate publish` before the config's
// grafana.token_env / token_file.
const grafanaTokenEnv = "GRAFANA_TOKEN"

// runGenerateDashboards writes the dashboards as JSON for Grafana's file
// provisioning.
func runGenerateDashboards(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate dashboards", stderr)
	path := fs.String("config", "patchgate.yaml", "configuration file")
	out := fs.String("out", "", "folder to write the dashboards to, one <uid>.json each (required)")
	version := fs.String("grafana-version", "latest", "Grafana release to write for: 10, 11, 12 (or a minor release such as 11.6), latest is 12.2 and later")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required: the folder Grafana's file provisioning reads")
	}
	g, err := dashboards.ParseGrafana(*version)
	if err != nil {
		return fmt.Errorf("--grafana-version: %w", err)
	}
	cfg, err := config.LoadWithoutSecrets(*path)
	if err != nil {
		return err
	}
	ds, err := dashboards.BuildFor(cfg, g)
	if err != nil {
		return err
	}
	files, err := dashboards.Write(*out, ds)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d dashboards for %s to %s:\n", len(files), g, *out)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for i, f := range files {
		fmt.Fprintf(tw, "  %s\t%s\n", filepath.Base(f), ds[i].Title)
	}
	return tw.Flush()
}

// runPublish creates or updates the dashboards in Grafana.
func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("publish", stderr)
	path := fs.String("config", "patchgate.yaml", "configuration file")
	url := fs.String("grafana-url", "", "Grafana's root URL (default: the config's grafana.url)")
	version := fs.String("grafana-version", "", "Grafana release to write for: 10, 11, 12, a minor release such as 11.6, or latest (default: the version Grafana reports)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var target dashboards.Grafana
	if *version != "" {
		var err error
		if target, err = dashboards.ParseGrafana(*version); err != nil {
			return fmt.Errorf("--grafana-version: %w", err)
		}
	}
	cfg, err := config.LoadWithoutSecrets(*path)
	if err != nil {
		return err
	}
	g := cfg.Grafana
	if *url != "" {
		g.URL = *url
	}
	if g.URL == "" {
		return errors.New("no Grafana URL: pass --grafana-url or set grafana.url in the config")
	}
	token := os.Getenv(grafanaTokenEnv)
	if token == "" {
		if token, err = g.ReadToken(cfg.Dir); err != nil {
			return err
		}
	}
	if token == "" {
		return fmt.Errorf("no Grafana token: set %s or grafana.token_env / grafana.token_file to a service account token with the Editor role", grafanaTokenEnv)
	}
	client, err := dashboards.NewClient(dashboards.ClientConfig{URL: g.URL, Token: token})
	if err != nil {
		return err
	}
	running, err := client.Health(ctx)
	if err != nil {
		return err
	}
	if *version == "" {
		if target, err = dashboards.ParseGrafana(running); err != nil {
			return fmt.Errorf("the Grafana at %s reports version %q: %w (pass --grafana-version to choose)", client.URL(), running, err)
		}
	}
	ds, err := dashboards.BuildFor(cfg, target)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "publishing %d dashboards to Grafana %s at %s, written for %s\n", len(ds), running, client.URL(), target)
	res, err := dashboards.Publish(ctx, client, dashboards.Folder{UID: g.UIDPrefix, Title: g.Folder}, ds)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, d := range res.Dashboards {
		fmt.Fprintf(tw, "  %s\t%s\tversion %d\t%s\n", d.Outcome, d.Title, d.Version, d.URL)
	}
	tw.Flush()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published to %s, folder %q: %s\n", client.URL(), g.Folder, res.Summary())
	return nil
}

// newAnnotator starts the annotation of decisions on the on-call dashboard.
func newAnnotator(cfg *config.Config, reg prometheus.Registerer, opt appOptions) (*dashboards.Annotator, error) {
	g := cfg.Grafana
	logger := opt.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return dashboards.NewAnnotator(dashboards.AnnotatorConfig{
		Grafana:      dashboards.ClientConfig{URL: g.URL, Token: g.Token, Retry: opt.grafanaRetry},
		DashboardUID: dashboards.UID(g.UIDPrefix, dashboards.OnCall, ""),
		QueueSize:    opt.annotationQueue,
		Registerer:   reg,
		Logger:       logger,
	})
}

// annotate is the gate observer that queues each new decision as an
// annotation; it never waits for Grafana.
func annotate(a *dashboards.Annotator) func(gate.Decision) {
	return func(d gate.Decision) {
		a.Add(dashboards.Annotation{
			Time: d.EvaluatedAt, Service: d.Service, PatchID: d.PatchID, Stage: d.Stage,
			Verdict: string(d.Evaluated()), Shadow: d.Mode == gate.ModeShadow, Text: d.Reason,
		})
	}
}
