package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
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

// TestSQLiteDiskFull fills a small filesystem under the database: Ping
// (readiness) and appends fail with ErrUnavailable, and work again once
// space is freed. It mounts a tmpfs, so it needs root.
func TestSQLiteDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	s, err := Open(t.Context(), "sqlite", filepath.Join(dir, "patchgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping with space left: %v", err)
	}
	// Take every block that is left.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			break
		}
	}
	f.Close()

	err = s.Ping(t.Context())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping on a full disk = %v, want ErrUnavailable", err)
	}
	big := decision(1, "checkout", "p1", "canary", "go")
	big.Body = make([]byte, 64<<10)
	if _, err := s.AppendDecision(t.Context(), big); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("append on a full disk = %v, want ErrUnavailable", err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after freeing space: %v", err)
	}
	if _, err := s.AppendDecision(t.Context(), big); err != nil {
		t.Fatalf("append after freeing space: %v", err)
	}
}

// Failures of the database are ErrUnavailable; a missing row and a bad
// argument are not.
func TestSQLiteUnavailable(t *testing.T) {
	s, err := Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "patchgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetDecision(t.Context(), "nope"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		t.Errorf("missing decision: %v, want ErrNotFound only", err)
	}
	if _, err := s.AppendDecision(t.Context(), Decision{}); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("decision without id: %v, want an error that is not ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.AppendDecision(ctx, decision(1, "checkout", "p1", "canary", "go")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("append with a canceled context: %v, want ErrUnavailable", err)
	}
	s.Close()
	for name, err := range map[string]error{
		"append": func() error {
			_, err := s.AppendDecision(t.Context(), decision(1, "checkout", "p1", "canary", "go"))
			return err
		}(),
		"event": func() error {
			_, _, err := s.AppendEvent(t.Context(), Event{PatchID: "p", IdempotencyKey: "k", Type: EventTested})
			return err
		}(),
		"list": func() error { _, err := s.ListOverrides(t.Context(), ControlFilter{}); return err }(),
		"ping": s.Ping(t.Context()),
		"admit": func() error {
			_, err := s.Admit(t.Context(), SlotKey{Service: "s"}, 1, time.Now(), time.Now(), nil)
			return err
		}(),
	} {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s on a closed store: %v, want ErrUnavailable", name, err)
		}
	}
}
