package store

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/testenv"
)

const postgresEnv = "PATCHGATE_TEST_POSTGRES_DSN"

func TestPostgres(t *testing.T) {
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		testenv.Missing(t, "PostgreSQL", "set "+postgresEnv+"; .ci/run starts one")
	}
	testStore(t, func(t *testing.T) backend { return newPostgresBackend(t, dsn) })
}

// newPostgresBackend is a fresh schema in the database at dsn, dropped
// when the test ends. Stores reach it through search_path.
func newPostgresBackend(t *testing.T, dsn string) backend {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "patchgate_test_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	dsn, err = withSearchPath(dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	return backend{
		driver: "postgres",
		dsn:    dsn,
		// Tamper tests edit rows as the owner of the tables could: drop
		// the trigger (ALTER TABLE decisions DISABLE TRIGGER would do too).
		unprotect: func(t *testing.T, db *sql.DB) {
			t.Helper()
			if _, err := db.ExecContext(t.Context(), "DROP TRIGGER decisions_append_only ON decisions"); err != nil {
				t.Fatalf("drop trigger: %v", err)
			}
		},
		reject: []string{"TRUNCATE decisions"},
	}
}

// withSearchPath adds search_path to a URL or keyword/value DSN.
func withSearchPath(dsn, schema string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", postgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
