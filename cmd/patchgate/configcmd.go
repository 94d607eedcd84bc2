package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/patchgate/patchgate/internal/config"
)

func runConfig(args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) < 1 || args[0] != "validate" {
		return exitError, errors.New("usage: patchgate config validate FILE")
	}
	fs := newFlags("config validate", stderr)
	if err := fs.Parse(args[1:]); err != nil {
		return exitError, err
	}
	if fs.NArg() != 1 {
		return exitError, errors.New("usage: patchgate config validate FILE")
	}
	path := fs.Arg(0)
	cfg, err := config.Load(path)
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
	stages := 0
	for _, s := range cfg.Services {
		stages += len(s.Stages)
	}
	fmt.Fprintf(stdout, "%s: OK: %d service(s), %d stage(s), %d token(s), metric source %s, store %s\n",
		path, len(cfg.Services), stages, len(cfg.Tokens), cfg.Source.Type, cfg.Store.Driver)
	return exitOK, nil
}
