package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/patchgate/patchgate/alerts"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/slo"
)

const configUsage = "usage: patchgate config validate [--offline] FILE"

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) < 1 || args[0] != "validate" {
		return exitError, errors.New(configUsage)
	}
	fs := newFlags("config validate", stderr)
	offline := fs.Bool("offline", false, "check everything that needs no secret and no server (for CI): "+
		"token_env, token_file and dsn_env are not read; the SLO and alert rules are generated in memory")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError, err
	}
	if fs.NArg() != 1 {
		return exitError, errors.New(configUsage)
	}
	path := fs.Arg(0)
	load := config.Load
	if *offline {
		load = config.LoadWithoutSecrets
	}
	cfg, err := load(path)
	var problems config.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Fprintln(stdout, p.Error())
		}
		fmt.Fprintf(stdout, "%s: %d problem(s)\n", path, len(problems))
		return exitProblems, nil
	}
	if err != nil {
		return exitError, err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stdout, "warning: "+w.Error())
	}
	stages := 0
	for _, s := range cfg.Services {
		stages += len(s.Stages)
	}
	if !*offline {
		fmt.Fprintf(stdout, "%s: OK: %d service(s), %d stage(s), %d token(s), metric source %s, store %s\n",
			path, len(cfg.Services), stages, len(cfg.Tokens), cfg.Source.Type, cfg.Store.Driver)
		return exitOK, nil
	}
	rules, err := generatedRules(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stdout, "%s: %v\n", path, err)
		return exitProblems, nil
	}
	fmt.Fprintf(stdout, "%s: OK (offline): %d service(s), %d stage(s), %d token(s), metric source %s, store %s, %d rule(s) generated\n",
		path, len(cfg.Services), stages, len(cfg.Tokens), cfg.Source.Type, cfg.Store.Driver, rules)
	if unread := unreadSecrets(cfg); len(unread) > 0 {
		fmt.Fprintf(stdout, "not read (offline): %s\n", strings.Join(unread, ", "))
	}
	return exitOK, nil
}

// generatedRules builds the SLO, lifecycle and patch alert rules in memory,
// as generate rules and generate alerts would, and counts them: what a
// config can only get wrong there (an SLO spec file's content) shows here.
func generatedRules(ctx context.Context, cfg *config.Config) (int, error) {
	n := 0
	gen := slo.NewGenerator(slo.GeneratorConfig{})
	err := gen.Files(ctx, cfg, slo.FilesConfig{Format: slo.FormatPrometheus}, func(f slo.File) error {
		n += f.Recording + f.Alerting
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("SLO rules: %w", err)
	}
	res, err := alerts.Rules(cfg)
	if err != nil {
		return 0, fmt.Errorf("alert rules: %w", err)
	}
	pages, tickets, records := res.Counts()
	return n + pages + tickets + records, nil
}

// unreadSecrets names the secrets an offline validation leaves for the
// server to read: the variable or file, never a value.
func unreadSecrets(cfg *config.Config) []string {
	var out []string
	for i, t := range cfg.Tokens {
		switch {
		case t.TokenEnv != "":
			out = append(out, fmt.Sprintf("tokens[%d].token_env %s", i, t.TokenEnv))
		case t.TokenFile != "":
			out = append(out, fmt.Sprintf("tokens[%d].token_file %s", i, t.TokenFile))
		}
	}
	if cfg.Grafana.TokenEnv != "" {
		out = append(out, "grafana.token_env "+cfg.Grafana.TokenEnv)
	}
	if cfg.Grafana.TokenFile != "" {
		out = append(out, "grafana.token_file "+cfg.Grafana.TokenFile)
	}
	if cfg.Store.DSNEnv != "" {
		out = append(out, "store.dsn_env "+cfg.Store.DSNEnv)
	}
	return out
}
