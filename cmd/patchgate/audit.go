package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) < 1 || args[0] != "verify" {
		return exitError, errors.New("usage: patchgate audit verify --config patchgate.yaml [--sqlite FILE [--audit-key-file FILE]] [--head HASH]")
	}
	fs := newFlags("audit verify", stderr)
	path := fs.String("config", "", "configuration file naming the store")
	file := fs.String("sqlite", "", "an SQLite store file to check instead of the config's store")
	keyFile := fs.String("audit-key-file", "", "with --sqlite: the file holding the audit chain's key (store.audit_key_file)")
	head := fs.String("head", "", "a head hash printed by an earlier run: fail if that row is gone (rows removed from the end)")
	if err := parse(fs, args[1:]); err != nil {
		return exitError, err
	}
	var sc config.Store
	switch {
	case *file != "":
		sc = config.Store{Driver: "sqlite", DSN: *file}
		if *keyFile != "" {
			b, err := os.ReadFile(*keyFile)
			if err != nil {
				return exitError, fmt.Errorf("--audit-key-file: %w", err)
			}
			sc.AuditKey = strings.TrimSpace(string(b))
		}
	case *path != "":
		cfg, err := config.Load(*path)
		if err != nil {
			return exitError, err
		}
		sc = cfg.Store
	default:
		return exitError, errors.New("give --config or --sqlite")
	}
	if *keyFile != "" && *file == "" {
		return exitError, errors.New("--audit-key-file goes with --sqlite; with --config, the config's store.audit_key_file is used")
	}
	// Read-only: a mistyped path must not become an empty log that
	// verifies, and a backup copy must verify as it is.
	st, err := store.OpenReadOnly(ctx, sc.Driver, sc.DSN, store.WithAuditKey([]byte(sc.AuditKey)))
	if err != nil {
		return exitError, err
	}
	defer st.Close()
	res, err := st.Verify(ctx)
	if err != nil {
		return exitError, err
	}
	if !res.OK {
		fmt.Fprintf(stdout, "audit log BROKEN: first bad row is %s: %s\n", res.FirstBrokenRow, res.Problem)
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
	switch {
	case res.NoChain:
		fmt.Fprintln(stdout, "audit chain: absent (a store written before events, overrides and freezes were chained; the next serve chains them)")
	default:
		fmt.Fprintf(stdout, "audit chain OK: %d entries over %d decision(s), %d event(s), %d override(s), %d freeze(s)\n",
			res.Entries, res.Rows, res.Events, res.Overrides, res.Freezes)
		switch {
		case res.KeyChecked:
			fmt.Fprintln(stdout, "audit chain keyed: every entry verified under the audit key")
		case res.Keyed > 0:
			fmt.Fprintf(stdout, "audit chain keyed: %d entries NOT checked against forgery (give the audit key: store.audit_key_file or --audit-key-file)\n", res.Keyed)
		default:
			fmt.Fprintln(stdout, "audit chain not keyed: someone who can write the database could rehash it after an edit (set store.audit_key_file)")
		}
	}
	fmt.Fprintf(stdout, "head: %s (keep it elsewhere; a later `audit verify --head` proves no rows were removed from the end)\n", res.Head)
	if !res.NoChain {
		fmt.Fprintf(stdout, "audit chain head: entry %d, %s\n", res.Entries, res.ChainHead)
	}
	return exitOK, nil
}
