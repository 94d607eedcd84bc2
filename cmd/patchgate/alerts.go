package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/alerts"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/slo"
)

func init() {
	generators["alerts"] = runGenerateAlerts
	generators["alertmanager"] = runGenerateAlertmanager
}

func runGenerateAlerts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate alerts", stderr)
	rf := newRuleFlags(fs, "a rules file", "PrometheusRule object")
	cfg, err := rf.load(fs, args)
	if err != nil {
		return err
	}
	out := rf.out
	res, err := alerts.Rules(cfg)
	if err != nil {
		return err
	}
	name, data, err := alerts.File(res, alerts.FileConfig{Format: slo.Format(*rf.format), Namespace: *rf.namespace, Labels: rf.labels})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	p := filepath.Join(*out, name)
	if err := writeFileAtomic(p, data); err != nil {
		return err
	}
	pages, tickets, records := res.Counts()
	var pageNames, ticketNames []string
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			switch {
			case r.Alert == "":
			case r.Labels["severity"] == alerts.SeverityPage:
				pageNames = appendOnce(pageNames, r.Alert)
			default:
				ticketNames = appendOnce(ticketNames, r.Alert)
			}
		}
	}
	fmt.Fprintf(stdout, "wrote %s: %d page rule(s) (%s), %d ticket rule(s) (%s), %d recording rule(s)\n",
		p, pages, strings.Join(pageNames, ", "), tickets, strings.Join(ticketNames, ", "), records)
	for _, n := range res.Notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	fmt.Fprintln(stdout, "The alerts read the lifecycle and SLO series the rules of `patchgate generate rules` record: load both.")
	fmt.Fprintln(stdout, "Route them with `patchgate generate alertmanager`: they carry source=\"patchgate\" and severity page or ticket.")
	return nil
}

func appendOnce(l []string, s string) []string {
	if slices.Contains(l, s) {
		return l
	}
	return append(l, s)
}

func runGenerateAlertmanager(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate alertmanager", stderr)
	path := fs.String("config", "patchgate.yaml", "configuration file")
	out := fs.String("out", "", "folder to write alertmanager.yml into (created if missing)")
	merge := fs.String("merge", "", "an existing alertmanager.yml to merge patchgate's routing into (its receivers, routes and settings are kept)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("missing --out")
	}
	cfg, err := config.LoadWithoutSecrets(*path)
	if err != nil {
		return err
	}
	var m *alerts.MergeConfig
	if *merge != "" {
		data, err := os.ReadFile(*merge)
		if err != nil {
			return fmt.Errorf("--merge: %w", err)
		}
		m = &alerts.MergeConfig{Name: *merge, Data: data}
	}
	r, err := alerts.Alertmanager(cfg, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	p := filepath.Join(*out, alerts.AlertmanagerFile)
	if err := writeFileAtomic(p, r.Data); err != nil {
		return err
	}
	rc := cfg.Alerting.Receivers
	fmt.Fprintf(stdout, "wrote %s: alerts with source=\"patchgate\" grouped by %s, pages to %s, tickets to %s; a page silences the tickets of its patch, cluster and service.\n",
		p, strings.Join(alerts.GroupBy(), ", "), rc.Page.Name, rc.Ticket.Name)
	if len(r.Intervals) > 0 {
		fmt.Fprintf(stdout, "Alerts labelled expected_in_window=\"true\" (mass reboots) are muted inside the patch windows: time intervals %s.\n", strings.Join(r.Intervals, ", "))
	} else {
		fmt.Fprintln(stdout, "No patch windows (controls.windows): no alert is muted.")
	}
	if m != nil {
		fmt.Fprintf(stdout, "Merged into %s: patchgate's route is the first child of its root route; its own receivers, routes and settings are kept (not its comments).", m.Name)
		if len(r.Reused) > 0 {
			fmt.Fprintf(stdout, " Its receivers used: %s.", strings.Join(r.Reused, ", "))
		}
		if len(r.Replaced) > 0 {
			fmt.Fprintf(stdout, " Replaced from an earlier merge: %s.", strings.Join(r.Replaced, ", "))
		}
		fmt.Fprintln(stdout)
	}
	for _, s := range r.Silent {
		fmt.Fprintf(stderr, "warning: receiver %s\n", s)
	}
	fmt.Fprintf(stdout, "Check it with: amtool check-config %s\n", p)
	return nil
}
