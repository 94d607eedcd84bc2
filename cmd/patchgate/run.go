package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes. check uses 0/1/75/2 as CI expects; every other command
// exits 0 on success, 1 when it found problems, 2 on usage or run errors.
const (
	exitOK       = 0
	exitNoGo     = 1
	exitProblems = 1
	exitError    = 2
	exitWait     = 75 // EX_TEMPFAIL: try again later
)

const usage = `patchgate: the SLO gatekeeper for patch rollouts

Usage:
  patchgate serve --config patchgate.yaml [--insecure-no-auth]
  patchgate demo [--serve] [--listen 127.0.0.1:8080] [--speed 1.5]
  patchgate check --server URL --service S --patch P --stage X [--token T] [--wait 30m] [--output json]
  patchgate config validate [--offline] FILE
  patchgate audit verify --config patchgate.yaml
  patchgate report --config patchgate.yaml --out FILE [--format html|csv|json] [--period 30d]
  patchgate import scan --format trivy|grype --server URL --service S [--cluster C] [--token T] FILE...
  patchgate backtest --config patchgate.yaml (--stages STAGES.csv | --from T [--to T]) --out DIR [--compare OTHER.yaml]
  patchgate inputs --config patchgate.yaml [--check]   # the series patchgate needs from others, and which the source holds
  patchgate generate rules|alerts|alertmanager|dashboards|integrations --config patchgate.yaml --out DIR
  patchgate publish --config patchgate.yaml [--grafana-url URL]   # token from GRAFANA_TOKEN or grafana.token_env
  patchgate --version

Run "patchgate COMMAND -h" for a command's flags.
`

// run is the whole program: it parses args and runs one command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	cmd, rest := args[0], args[1:]
	var err error
	code := exitOK
	switch cmd {
	case "serve":
		err = runServe(ctx, rest, stdout, stderr)
	case "demo":
		err = runDemo(ctx, rest, stdout, stderr)
	case "check":
		code, err = runCheck(ctx, rest, stdout, stderr)
	case "config":
		code, err = runConfig(ctx, rest, stdout, stderr)
	case "audit":
		code, err = runAudit(ctx, rest, stdout, stderr)
	case "generate":
		err = runGenerate(ctx, rest, stdout, stderr)
	case "publish":
		err = runPublish(ctx, rest, stdout, stderr)
	case "report":
		err = runReport(ctx, rest, stdout, stderr)
	case "backtest":
		code, err = runBacktest(ctx, rest, stdout, stderr)
	case "inputs":
		code, err = runInputs(ctx, rest, stdout, stderr)
	case "import":
		code, err = runImport(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		printVersion(stdout)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "patchgate: unknown command %q\n\n%s", cmd, usage)
		return exitError
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "patchgate %s: %v\n", cmd, err)
		if code == exitOK {
			code = exitError
		}
	}
	return code
}

// newFlags returns a flag set that reports to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("patchgate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument(s): %s", strings.Join(fs.Args(), " "))
	}
	return nil
}
