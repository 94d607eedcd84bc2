package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
func Open(ctx context.Context, driver, dsn string) (Store, error) {
	if dsn == "" {
		return nil, errors.New("store: open: empty DSN")
	}
	var d *dialect
	switch driver {
	case "", "sqlite":
		d = sqliteDialect
		dsn = sqliteDSN(dsn)
	case "postgres", "postgresql", "pgx":
		d = postgresDialect
	default:
		return nil, fmt.Errorf("store: open: unknown driver %q (want sqlite or postgres)", driver)
	}
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", d.name, err)
	}
	s := &sqlStore{db: db, dialect: d, appending: make(chan struct{}, 1)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", d.name, err)
	}
	return s, nil
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
