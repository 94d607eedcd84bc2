package store

import (
	"database/sql"
	"strconv"
	"strings"
)

// dialect holds what differs between the SQL databases the store runs on.
// Queries are written once with ? placeholders and rebound per dialect.
type dialect struct {
	name   string // "sqlite" or "postgres"
	driver string // database/sql driver name
	// numbered placeholders: $1, $2, ... instead of ?.
	numbered bool
	// txOptions are used for writing transactions.
	txOptions *sql.TxOptions
	// lock, when set, runs first in every transaction that must be
	// serialised against other writers (appends, migrations), including
	// writers in other processes, and holds them off until it commits.
	lock string
	// schema is run on every Open, in order, inside one serialised
	// transaction. Every statement must be idempotent.
	schema []string
}

// rebind rewrites the ? placeholders of q for d.
func (d *dialect) rebind(q string) string {
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// Times are stored as text, in UTC with all nine fraction digits: fixed
// width, so they sort as text, and nanoseconds survive the round trip
// (PostgreSQL's timestamptz keeps only microseconds).
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// sqliteDialect needs no lock statement: Open makes every transaction
// BEGIN IMMEDIATE, which takes the database's write lock up front, so two
// writers (goroutines or processes) never read the same chain head.
var sqliteDialect = &dialect{
	name:   "sqlite",
	driver: "sqlite",
	schema: []string{
		`CREATE TABLE IF NOT EXISTS decisions (
			seq          INTEGER PRIMARY KEY,
			id           TEXT    NOT NULL UNIQUE,
			service      TEXT    NOT NULL,
			patch_id     TEXT    NOT NULL,
			stage        TEXT    NOT NULL,
			attempt      TEXT    NOT NULL,
			verdict      TEXT    NOT NULL,
			evaluated_at TEXT    NOT NULL,
			body         BLOB    NOT NULL,
			prev_hash    TEXT    NOT NULL,
			hash         TEXT    NOT NULL
		) STRICT`,
		`CREATE INDEX IF NOT EXISTS decisions_service_patch ON decisions (service, patch_id, seq)`,
		// The audit log is append-only: the store has no update or delete
		// methods, and these triggers refuse anyone else's. Someone with
		// write access to the file can still drop them; the hash chain is
		// what catches that.
		`CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
		BEGIN SELECT RAISE(ABORT, 'decisions are append-only: UPDATE rejected'); END`,
		`CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
		BEGIN SELECT RAISE(ABORT, 'decisions are append-only: DELETE rejected'); END`,
		`CREATE TABLE IF NOT EXISTS stage_attempts (
			service      TEXT    NOT NULL,
			patch_id     TEXT    NOT NULL,
			stage        TEXT    NOT NULL,
			attempt      TEXT    NOT NULL,
			start        TEXT    NOT NULL,
			start_source TEXT    NOT NULL,
			first_ask    TEXT    NOT NULL,
			outcome      TEXT    NOT NULL DEFAULT '',
			outcome_look INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (service, patch_id, stage, attempt)
		) STRICT`,

		// Operator controls (events.go, overrides.go, freezes.go, slots.go).
		// Events, overrides and freezes are never removed: a deletion is
		// recorded on the row with who, when and why.
		`CREATE TABLE IF NOT EXISTS events (
			seq             INTEGER PRIMARY KEY,
			id              TEXT    NOT NULL UNIQUE,
			patch_id        TEXT    NOT NULL,
			type            TEXT    NOT NULL,
			time            TEXT    NOT NULL,
			received_at     TEXT    NOT NULL,
			service         TEXT    NOT NULL,
			cluster         TEXT    NOT NULL,
			stage           TEXT    NOT NULL,
			severity        TEXT    NOT NULL,
			attempt         TEXT    NOT NULL,
			hosts           INTEGER NOT NULL,
			detail          TEXT    NOT NULL,
			labels          TEXT    NOT NULL,
			idempotency_key TEXT    NOT NULL,
			actor           TEXT    NOT NULL,
			UNIQUE (patch_id, idempotency_key)
		) STRICT`,
		`CREATE INDEX IF NOT EXISTS events_service_patch ON events (service, patch_id, time)`,
		`CREATE INDEX IF NOT EXISTS events_type_time ON events (type, time)`,
		`CREATE TABLE IF NOT EXISTS overrides (
			seq           INTEGER PRIMARY KEY,
			id            TEXT    NOT NULL UNIQUE,
			service       TEXT    NOT NULL,
			patch_id      TEXT    NOT NULL,
			stage         TEXT    NOT NULL,
			verdict       TEXT    NOT NULL,
			reason        TEXT    NOT NULL,
			actor         TEXT    NOT NULL,
			created_at    TEXT    NOT NULL,
			expires_at    TEXT    NOT NULL,
			deleted_at    TEXT    NOT NULL DEFAULT '',
			deleted_by    TEXT    NOT NULL DEFAULT '',
			delete_reason TEXT    NOT NULL DEFAULT ''
		) STRICT`,
		`CREATE INDEX IF NOT EXISTS overrides_expires ON overrides (expires_at)`,
		`CREATE TABLE IF NOT EXISTS freezes (
			seq           INTEGER PRIMARY KEY,
			id            TEXT    NOT NULL UNIQUE,
			service       TEXT    NOT NULL,
			starts_at     TEXT    NOT NULL,
			ends_at       TEXT    NOT NULL,
			reason        TEXT    NOT NULL,
			actor         TEXT    NOT NULL,
			created_at    TEXT    NOT NULL,
			deleted_at    TEXT    NOT NULL DEFAULT '',
			deleted_by    TEXT    NOT NULL DEFAULT '',
			delete_reason TEXT    NOT NULL DEFAULT ''
		) STRICT`,
		`CREATE INDEX IF NOT EXISTS freezes_ends ON freezes (ends_at)`,
		`CREATE TABLE IF NOT EXISTS rollout_slots (
			service    TEXT    NOT NULL,
			patch_id   TEXT    NOT NULL,
			cluster    TEXT    NOT NULL,
			hosts      INTEGER NOT NULL,
			queued_at  TEXT    NOT NULL,
			last_ask   TEXT    NOT NULL,
			granted_at TEXT    NOT NULL DEFAULT '',
			PRIMARY KEY (service, patch_id, cluster)
		) STRICT`,
	},
}

// pgLockKey is the advisory lock that serialises appends and migrations
// across replicas ("patchgat" in ASCII).
const pgLockKey = 0x7061746368676174

var postgresDialect = &dialect{
	name:     "postgres",
	driver:   "pgx",
	numbered: true,
	// Read committed, so the statement after the lock sees every append
	// committed while this transaction waited for it.
	txOptions: &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	// The lock also turns synchronous_commit on for the transaction, so a
	// server or role configured with it off still syncs every append.
	lock: "SELECT pg_advisory_xact_lock(" + strconv.FormatInt(pgLockKey, 10) + "), " +
		"set_config('synchronous_commit', 'on', true)",
	schema: []string{
		`CREATE TABLE IF NOT EXISTS decisions (
			seq          BIGINT  PRIMARY KEY,
			id           TEXT    NOT NULL UNIQUE,
			service      TEXT    NOT NULL,
			patch_id     TEXT    NOT NULL,
			stage        TEXT    NOT NULL,
			attempt      TEXT    NOT NULL,
			verdict      TEXT    NOT NULL,
			evaluated_at TEXT    NOT NULL,
			body         BYTEA   NOT NULL,
			prev_hash    TEXT    NOT NULL,
			hash         TEXT    NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS decisions_service_patch ON decisions (service, patch_id, seq)`,
		// The audit log is append-only: the store has no update or delete
		// methods, and this trigger rejects UPDATE, DELETE and TRUNCATE on
		// decisions from anyone. The table owner can still drop or disable
		// it (run patchgate as a role that does not own the tables to stop
		// that too); the hash chain is what catches such edits.
		`CREATE OR REPLACE FUNCTION decisions_append_only() RETURNS trigger
		LANGUAGE plpgsql AS $$
		BEGIN
			RAISE EXCEPTION 'decisions are append-only: % rejected', TG_OP;
		END
		$$`,
		// CREATE OR REPLACE TRIGGER needs PostgreSQL 14 or later.
		`CREATE OR REPLACE TRIGGER decisions_append_only
		BEFORE UPDATE OR DELETE ON decisions
		FOR EACH ROW EXECUTE FUNCTION decisions_append_only()`,
		`CREATE OR REPLACE TRIGGER decisions_no_truncate
		BEFORE TRUNCATE ON decisions
		FOR EACH STATEMENT EXECUTE FUNCTION decisions_append_only()`,
		`CREATE TABLE IF NOT EXISTS stage_attempts (
			service      TEXT    NOT NULL,
			patch_id     TEXT    NOT NULL,
			stage        TEXT    NOT NULL,
			attempt      TEXT    NOT NULL,
			start        TEXT    NOT NULL,
			start_source TEXT    NOT NULL,
			first_ask    TEXT    NOT NULL,
			outcome      TEXT    NOT NULL DEFAULT '',
			outcome_look INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (service, patch_id, stage, attempt)
		)`,

		// Operator controls (events.go, overrides.go, freezes.go, slots.go).
		// Events, overrides and freezes are never removed: a deletion is
		// recorded on the row with who, when and why.
		`CREATE TABLE IF NOT EXISTS events (
			seq             BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
			id              TEXT    NOT NULL UNIQUE,
			patch_id        TEXT    NOT NULL,
			type            TEXT    NOT NULL,
			time            TEXT    NOT NULL,
			received_at     TEXT    NOT NULL,
			service         TEXT    NOT NULL,
			cluster         TEXT    NOT NULL,
			stage           TEXT    NOT NULL,
			severity        TEXT    NOT NULL,
			attempt         TEXT    NOT NULL,
			hosts           INTEGER NOT NULL,
			detail          TEXT    NOT NULL,
			labels          TEXT    NOT NULL,
			idempotency_key TEXT    NOT NULL,
			actor           TEXT    NOT NULL,
			UNIQUE (patch_id, idempotency_key)
		)`,
		`CREATE INDEX IF NOT EXISTS events_service_patch ON events (service, patch_id, time)`,
		`CREATE INDEX IF NOT EXISTS events_type_time ON events (type, time)`,
		`CREATE TABLE IF NOT EXISTS overrides (
			seq           BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
			id            TEXT    NOT NULL UNIQUE,
			service       TEXT    NOT NULL,
			patch_id      TEXT    NOT NULL,
			stage         TEXT    NOT NULL,
			verdict       TEXT    NOT NULL,
			reason        TEXT    NOT NULL,
			actor         TEXT    NOT NULL,
			created_at    TEXT    NOT NULL,
			expires_at    TEXT    NOT NULL,
			deleted_at    TEXT    NOT NULL DEFAULT '',
			deleted_by    TEXT    NOT NULL DEFAULT '',
			delete_reason TEXT    NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX IF NOT EXISTS overrides_expires ON overrides (expires_at)`,
		`CREATE TABLE IF NOT EXISTS freezes (
			seq           BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
			id            TEXT    NOT NULL UNIQUE,
			service       TEXT    NOT NULL,
			starts_at     TEXT    NOT NULL,
			ends_at       TEXT    NOT NULL,
			reason        TEXT    NOT NULL,
			actor         TEXT    NOT NULL,
			created_at    TEXT    NOT NULL,
			deleted_at    TEXT    NOT NULL DEFAULT '',
			deleted_by    TEXT    NOT NULL DEFAULT '',
			delete_reason TEXT    NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX IF NOT EXISTS freezes_ends ON freezes (ends_at)`,
		`CREATE TABLE IF NOT EXISTS rollout_slots (
			service    TEXT    NOT NULL,
			patch_id   TEXT    NOT NULL,
			cluster    TEXT    NOT NULL,
			hosts      INTEGER NOT NULL,
			queued_at  TEXT    NOT NULL,
			last_ask   TEXT    NOT NULL,
			granted_at TEXT    NOT NULL DEFAULT '',
			PRIMARY KEY (service, patch_id, cluster)
		)`,
	},
}
