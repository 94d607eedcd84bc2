package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// generators are the `patchgate generate` subcommands, each in its own file.
var generators = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{}

func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: patchgate generate rules|alerts|alertmanager|dashboards|integrations --config patchgate.yaml --out DIR"
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(stdout, "%s\n\nRun \"patchgate generate KIND -h\" for its flags.\n", usage)
		return nil
	}
	gen, ok := generators[args[0]]
	if !ok {
		return fmt.Errorf("generate %s: not available in this build (have: %s)", args[0], generatorNames())
	}
	return gen(ctx, args[1:], stdout, stderr)
}

func generatorNames() string {
	names := ""
	for _, n := range []string{"rules", "alerts", "alertmanager", "dashboards", "integrations"} {
		if _, ok := generators[n]; ok {
			if names != "" {
				names += ", "
			}
			names += n
		}
	}
	if names == "" {
		return "none yet"
	}
	return names
}
