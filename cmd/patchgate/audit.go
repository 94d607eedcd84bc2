package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) < 1 || args[0] != "verify" {
		return exitError, errors.New("usage: patchgate audit verify --config patchgate.yaml [--sqlite FILE]")
	}
	fs := newFlags("audit verify", stderr)
	path := fs.String("config", "", "configuration file naming the store")
	file := fs.String("sqlite", "", "an SQLite store file to check instead of the config's store")
	head := fs.String("head", "", "a head hash printed by an earlier run: fail if that row is gone (rows removed from the end)")
	if err := parse(fs, args[1:]); err != nil {
		return exitError, err
	}
	var sc config.Store
	switch {
	case *file != "":
		sc = config.Store{Driver: "sqlite", DSN: *file}
	case *path != "":
		cfg, err := config.Load(*path)
		if err != nil {
			return exitError, err
		}
		sc = cfg.Store
	default:
		return exitError, errors.New("give --config or --sqlite")
	}
	// Read-only: a mistyped path must not become an empty log that
	// verifies, and a backup copy must verify as it is.
	st, err := store.OpenReadOnly(ctx, sc.Driver, sc.DSN)
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	res, err := st.Verify(ctx)
	if err != nil {
		return exitError, err
	}
	if !res.OK {
		fmt.Fprintf(stdout, "audit log BROKEN: first bad row is %d of %d: %s\n", res.FirstBroken, res.Rows, res.Problem)
		return exitProblems, nil
	}
	if *head != "" {
		d, err := st.DecisionByHash(ctx, *head)
		if errors.Is(err, store.ErrNotFound) {
			fmt.Fprintf(stdout, "audit log BROKEN: no row has the earlier head hash %s any more: rows were removed from the end of the log\n", *head)
			return exitProblems, nil
		}
		if err != nil {
			return exitError, err
		}
		fmt.Fprintf(stdout, "the earlier head %s is row %d of %d: nothing before it was removed\n", *head, d.Seq, res.Rows)
	}
	fmt.Fprintf(stdout, "audit log OK: %d decision(s), every row's hash matches its content and links to the row before\n", res.Rows)
	fmt.Fprintf(stdout, "head: %s (keep it elsewhere; a later `audit verify --head` proves no rows were removed from the end)\n", res.Head)
	return exitOK, nil
}
