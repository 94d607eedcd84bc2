package store

import (
	"database/sql"
	"testing"

	"github.com/patchgate/patchgate/internal/testenv"
)

func TestPostgres(t *testing.T) {
	testStore(t, func(t *testing.T) backend { return newPostgresBackend(t) })
}

// newPostgresBackend is a fresh schema in the test database, dropped when
// the test ends. Stores reach it through search_path.
func newPostgresBackend(t *testing.T) backend {
	t.Helper()
	return backend{
		driver: "postgres",
		dsn:    testenv.Postgres(t),
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
