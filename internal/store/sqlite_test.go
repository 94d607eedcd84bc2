package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

func TestSQLite(t *testing.T) {
	testStore(t, newSQLiteBackend)
}

// newSQLiteBackend is a database file in a fresh temporary directory.
func newSQLiteBackend(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "patchgate.db")
	return backend{
		driver: "sqlite",
		dsn:    path,
		// Tamper tests edit rows as anyone who can write the file could:
		// drop the triggers.
		unprotect: func(t *testing.T, db *sql.DB) {
			t.Helper()
			for _, q := range []string{
				"DROP TRIGGER decisions_no_update",
				"DROP TRIGGER decisions_no_delete",
			} {
				if _, err := db.ExecContext(t.Context(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		},
	}
}

func TestSQLiteSettings(t *testing.T) {
	s, err := Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "patchgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := rawDB(s)
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}

// appendHelperEnv makes the test binary a helper process that appends
// decisions to the SQLite file it names (see TestMain).
const appendHelperEnv = "PATCHGATE_STORE_APPEND_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(appendHelperEnv); path != "" {
		if err := appendHelper(path, os.Getenv(appendHelperEnv+"_PREFIX")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const helperAppends = 40

func appendHelper(path, prefix string) error {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite", path)
	if err != nil {
		return err
	}
	defer s.Close()
	for i := range helperAppends {
		d := decision(i, prefix, "p1", "canary", "go")
		d.ID = fmt.Sprintf("%s-%d", prefix, i)
		if _, err := s.AppendDecision(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// TestSQLiteProcesses appends from several processes to one file at once.
func TestSQLiteProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "patchgate.db")
	const procs = 3
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(),
				appendHelperEnv+"="+path,
				fmt.Sprintf("%s_PREFIX=proc%d", appendHelperEnv, p))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("helper process %d: %v\n%s", p, err, out)
			}
		})
	}
	wg.Wait()

	s, err := Open(t.Context(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res := verify(t, s)
	if !res.OK || res.Rows != procs*helperAppends {
		t.Errorf("verify = %+v, want OK with %d rows", res, procs*helperAppends)
	}
}
