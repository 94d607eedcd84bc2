package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// sqliteParams are added to every SQLite DSN. WAL lets readers run beside
// the writer; synchronous=FULL syncs every commit, so an answered decision
// survives a crash; busy_timeout makes writers wait for each other rather
// than fail; _txlock=immediate makes every transaction BEGIN IMMEDIATE,
// which serialises appends across connections and processes.
const sqliteParams = "_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"

// Open opens the store at dsn and creates or upgrades its schema.
//
// driver is "sqlite" (the default when empty) or "postgres" ("postgresql"
// and "pgx" are accepted too). For SQLite, dsn is a file path or a "file:"
// URI; Open adds the settings above to it, so it must not set them itself.
// An in-memory SQLite database does not work: each pooled connection would
// see its own. For PostgreSQL, dsn is a pgx connection string; a
// search_path parameter in it selects the schema.
func Open(ctx context.Context, driver, dsn string, opts ...Option) (Store, error) {
	if dsn == "" {
		return nil, errors.New("store: open: empty DSN")
	}
	d, err := dialectOf(driver)
	if err != nil {
		return nil, err
	}
	if d == sqliteDialect {
		dsn = sqliteDSN(dsn)
	}
	db, err := d.open(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", d.name, err)
	}
	s := newSQLStore(db, d)
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", d.name, err)
	}
	return s, nil
}

// OpenReadOnly opens an existing store to read it (audit verify): it never
// creates a database, a file or a table, and never migrates. A missing
// SQLite file or a database without patchgate's tables is an error saying
// so. SQLite is opened with mode=ro; PostgreSQL sessions are read-only
// (default_transaction_read_only).
func OpenReadOnly(ctx context.Context, driver, dsn string, opts ...Option) (Store, error) {
	if dsn == "" {
		return nil, errors.New("store: open: empty DSN")
	}
	d, err := dialectOf(driver)
	if err != nil {
		return nil, err
	}
	if d == sqliteDialect {
		if dsn, err = sqliteReadOnlyDSN(dsn); err != nil {
			return nil, fmt.Errorf("store: open sqlite read-only: %w", err)
		}
	} else {
		dsn = postgresReadOnlyDSN(dsn)
	}
	db, err := d.open(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s read-only: %w", d.name, err)
	}
	s := newSQLStore(db, d)
	for _, o := range opts {
		o(s)
	}
	err = hasDecisions(ctx, db)
	if err != nil && d == sqliteDialect && strings.Contains(err.Error(), "readonly") {
		// A WAL database in a folder we may not write (a backup copy):
		// SQLite cannot create the -shm file beside it. Nothing else
		// writes such a copy, so it may be read as immutable.
		db.Close()
		if db, err = d.open(dsn + "&immutable=1"); err != nil {
			return nil, fmt.Errorf("store: open %s read-only: %w", d.name, err)
		}
		s.db = db
		err = hasDecisions(ctx, db)
	}
	if err != nil {
		db.Close()
		if strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "does not exist") {
			return nil, fmt.Errorf("store: open %s read-only: no decisions table: not a patchgate store (%w)", d.name, err)
		}
		return nil, fmt.Errorf("store: open %s read-only: %w", d.name, unavailable(err))
	}
	return s, nil
}

func hasDecisions(ctx context.Context, db *sql.DB) error {
	var n int64
	return db.QueryRowContext(ctx, "SELECT count(*) FROM decisions").Scan(&n)
}

// Option changes how Open and OpenReadOnly open a store.
type Option func(*sqlStore)

// WithAuditKey keys the audit chain with key (HMAC-SHA256): entries are
// written and verified under it, and a chain written without a key is
// rekeyed on Open (after it verifies). An empty key is no key.
func WithAuditKey(key []byte) Option {
	return func(s *sqlStore) {
		if len(key) > 0 {
			s.key = append([]byte(nil), key...)
		}
	}
}

// sqliteReadOnlyDSN turns a file path or "file:" URI into a read-only URI,
// after checking that the file exists (SQLite would create it otherwise,
// even asked for mode=ro, when the URI is not honoured).
func sqliteReadOnlyDSN(dsn string) (string, error) {
	path, query, _ := strings.Cut(dsn, "?")
	if rest, ok := strings.CutPrefix(path, "file:"); ok {
		p, err := url.PathUnescape(rest)
		if err != nil {
			return "", fmt.Errorf("%q: %w", dsn, err)
		}
		path = p
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist (give the path of an existing store)", abs)
		}
		return "", err
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", fmt.Errorf("%q: %w", dsn, err)
	}
	q.Set("mode", "ro")
	q.Set("_busy_timeout", "10000")
	q.Set("_query_only", "1")
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String(), nil
}

// postgresReadOnlyDSN makes every session of dsn read-only: pgx sends
// unknown connection parameters to the server as run-time settings.
func postgresReadOnlyDSN(dsn string) string {
	const param = "default_transaction_read_only=on"
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if strings.Contains(dsn, "?") {
			return dsn + "&" + param
		}
		return dsn + "?" + param
	}
	return dsn + " " + param
}

func sqliteDSN(dsn string) string {
	if strings.Contains(dsn, "?") {
		return dsn + "&" + sqliteParams
	}
	return dsn + "?" + sqliteParams
}

// migrate creates the schema. Replicas starting together take turns.
//
// SQLite can answer SQLITE_BUSY at once, without waiting for busy_timeout,
// while another process switches a new file to WAL; migrate then tries
// again with a growing pause, for up to 15 seconds.
func (s *sqlStore) migrate(ctx context.Context) error {
	pause := 20 * time.Millisecond
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := s.migrateOnce(ctx)
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("migrate: %w", ctx.Err())
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

func busy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

func (s *sqlStore) migrateOnce(ctx context.Context) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range s.dialect.schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if err := s.migrateChain(ctx, tx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// beginWrite starts a transaction that holds the dialect's writer lock.
func (s *sqlStore) beginWrite(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, s.dialect.txOptions)
	if err != nil {
		return nil, err
	}
	if s.dialect.lock != "" {
		if _, err := tx.ExecContext(ctx, s.dialect.lock); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return tx, nil
}

// dialectOf is the dialect of a store.driver value.
func dialectOf(driver string) (*dialect, error) {
	switch driver {
	case "", "sqlite":
		return sqliteDialect, nil
	case "postgres", "postgresql", "pgx":
		return postgresDialect, nil
	}
	return nil, fmt.Errorf("store: open: unknown driver %q (want sqlite or postgres)", driver)
}
