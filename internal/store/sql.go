package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits of ListDecisions.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// sqlStore implements Store over database/sql for SQLite and PostgreSQL.
type sqlStore struct {
	db      *sql.DB
	dialect *dialect
	// writes groups the durable writes under the writer lock, admits
	// the concurrency admissions (group.go): writers in one process
	// queue there and share commits instead of contending for the
	// database's locks one by one.
	writes, admits *group
	// key, when set, keys the audit chain's hashes (HMAC-SHA256).
	key []byte
}

func newSQLStore(db *sql.DB, d *dialect) *sqlStore {
	s := &sqlStore{db: db, dialect: d}
	s.writes = newGroup(s.commitWrites)
	s.admits = newGroup(s.commitAdmits)
	return s
}

const decisionColumns = "seq, id, service, patch_id, stage, attempt, verdict, evaluated_at, body, prev_hash, hash"

func (s *sqlStore) AppendDecision(ctx context.Context, d Decision) (Decision, error) {
	d, err := s.appendDecision(ctx, d)
	if err != nil {
		return Decision{}, unavailable(fmt.Errorf("store: append decision %q: %w", d.ID, err))
	}
	return d, nil
}

func (s *sqlStore) appendDecision(ctx context.Context, d Decision) (Decision, error) {
	if d.ID == "" {
		return d, invalid("empty id")
	}
	in := d
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		d, err = appendDecisionIn(ctx, s, tx, in)
		return err
	})
	return d, err
}

func appendDecisionIn(ctx context.Context, s *sqlStore, tx *sql.Tx, d Decision) (Decision, error) {
	if d.LookKey != "" {
		// One decision per look across replicas: the first to claim the
		// look records its decision; the others get that one.
		res, err := tx.ExecContext(ctx, s.dialect.rebind(
			"INSERT INTO decision_looks (look_key, decision_id) VALUES (?, ?) ON CONFLICT (look_key) DO NOTHING"),
			d.LookKey, d.ID)
		if err != nil {
			return d, fmt.Errorf("claim look: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return d, fmt.Errorf("claim look: %w", err)
		} else if n == 0 {
			stored, err := scanDecision(tx.QueryRowContext(ctx, s.dialect.rebind(
				"SELECT "+prefixed("d.", decisionColumns)+" FROM decisions d JOIN decision_looks l ON l.decision_id = d.id WHERE l.look_key = ?"),
				d.LookKey))
			if err != nil {
				return d, fmt.Errorf("read the look's decision: %w", err)
			}
			stored.LookKey = d.LookKey
			return stored, nil
		}
	}
	var (
		last int64
		prev string
	)
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM decisions ORDER BY seq DESC LIMIT 1").Scan(&last, &prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		last, prev = 0, GenesisHash
	case err != nil:
		return d, fmt.Errorf("read chain head: %w", err)
	}

	d.Seq = last + 1
	d.PrevHash = prev
	d.EvaluatedAt = d.EvaluatedAt.UTC()
	if d.Body == nil {
		d.Body = []byte{}
	}
	d.Hash = decisionHash(d)

	_, err = tx.ExecContext(ctx, s.dialect.rebind(
		"INSERT INTO decisions ("+decisionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		d.Seq, d.ID, d.Service, d.PatchID, d.Stage, d.Attempt, d.Verdict,
		formatTime(d.EvaluatedAt), d.Body, d.PrevHash, d.Hash)
	if err != nil {
		return d, err
	}
	return d, s.chain(ctx, tx, kindDecision, d.ID)
}

func (s *sqlStore) GetDecision(ctx context.Context, id string) (Decision, error) {
	return s.decisionWhere(ctx, "id", id)
}

// DecisionByHash returns the decision whose row hash is hash.
func (s *sqlStore) DecisionByHash(ctx context.Context, hash string) (Decision, error) {
	return s.decisionWhere(ctx, "hash", hash)
}

func (s *sqlStore) decisionWhere(ctx context.Context, column, value string) (Decision, error) {
	row := s.db.QueryRowContext(ctx, s.dialect.rebind("SELECT "+decisionColumns+" FROM decisions WHERE "+column+" = ?"), value)
	d, err := scanDecision(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return Decision{}, unavailable(fmt.Errorf("store: get decision by %s %q: %w", column, value, err))
	}
	return d, nil
}

func (s *sqlStore) ListDecisions(ctx context.Context, f Filter) ([]Decision, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ column, value string }{
		{"service", f.Service},
		{"patch_id", f.PatchID},
		{"stage", f.Stage},
	} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	q := "SELECT " + decisionColumns + " FROM decisions"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT ?"
	args = append(args, limit(f.Limit))

	return queryAll(ctx, s, "list decisions", q, args, scanDecision)
}

// prefixed puts p before each of the comma-separated columns.
func prefixed(p, columns string) string {
	cs := strings.Split(columns, ", ")
	for i := range cs {
		cs[i] = p + cs[i]
	}
	return strings.Join(cs, ", ")
}

func limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

func (s *sqlStore) EnsureAttempt(ctx context.Context, a Attempt) (Attempt, error) {
	stored, err := s.getAttempt(ctx, a.AttemptKey)
	if err == nil {
		return stored, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Attempt{}, unavailable(fmt.Errorf("store: ensure attempt %v: %w", a.AttemptKey, err))
	}
	// New: created in a group commit with the writes beside it.
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.dialect.rebind(`
			INSERT INTO stage_attempts (service, patch_id, stage, attempt, start, start_source, first_ask)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (service, patch_id, stage, attempt) DO NOTHING`),
			a.Service, a.PatchID, a.Stage, a.Attempt,
			formatTime(a.Start), a.StartSource, formatTime(a.FirstAsk))
		return err
	})
	if err != nil {
		return Attempt{}, unavailable(fmt.Errorf("store: ensure attempt %v: %w", a.AttemptKey, err))
	}
	stored, err = s.getAttempt(ctx, a.AttemptKey)
	if err != nil {
		return Attempt{}, unavailable(fmt.Errorf("store: ensure attempt %v: %w", a.AttemptKey, err))
	}
	return stored, nil
}

func (s *sqlStore) SetOutcome(ctx context.Context, k AttemptKey, outcome string, look int) (Attempt, error) {
	if outcome == "" {
		return Attempt{}, fmt.Errorf("store: set outcome %v: %w", k, invalid("empty outcome"))
	}
	_, err := s.db.ExecContext(ctx, s.dialect.rebind(`
		UPDATE stage_attempts SET outcome = ?, outcome_look = ?
		WHERE service = ? AND patch_id = ? AND stage = ? AND attempt = ? AND outcome = ''`),
		outcome, look, k.Service, k.PatchID, k.Stage, k.Attempt)
	if err != nil {
		return Attempt{}, unavailable(fmt.Errorf("store: set outcome %v: %w", k, err))
	}
	a, err := s.getAttempt(ctx, k)
	if err != nil {
		return Attempt{}, unavailable(fmt.Errorf("store: set outcome %v: %w", k, err))
	}
	return a, nil
}

func (s *sqlStore) getAttempt(ctx context.Context, k AttemptKey) (Attempt, error) {
	a := Attempt{AttemptKey: k}
	var start, firstAsk string
	err := s.db.QueryRowContext(ctx, s.dialect.rebind(`
		SELECT start, start_source, first_ask, outcome, outcome_look FROM stage_attempts
		WHERE service = ? AND patch_id = ? AND stage = ? AND attempt = ?`),
		k.Service, k.PatchID, k.Stage, k.Attempt,
	).Scan(&start, &a.StartSource, &firstAsk, &a.Outcome, &a.OutcomeLook)
	if errors.Is(err, sql.ErrNoRows) {
		return Attempt{}, ErrNotFound
	}
	if err != nil {
		return Attempt{}, err
	}
	if a.Start, err = parseTime(start); err != nil {
		return Attempt{}, fmt.Errorf("start: %w", err)
	}
	if a.FirstAsk, err = parseTime(firstAsk); err != nil {
		return Attempt{}, fmt.Errorf("first_ask: %w", err)
	}
	return a, nil
}

// probePad is what Ping writes beside the time: about a decision's size,
// more than a page, so a database that cannot grow (disk full, quota)
// fails the probe as it would fail an append.
var probePad = make([]byte, 4096)

// Ping proves the store can write: one small transaction, committed like
// any write, that rewrites the row of the readiness table. A disk that is
// full, a database that is read-only (a PostgreSQL standby after a
// failover) or locked past the busy timeout fails it with ErrUnavailable.
func (s *sqlStore) Ping(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, s.dialect.rebind(`
		INSERT INTO readiness (id, probed_at, pad) VALUES ('probe', ?, ?)
		ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at, pad = excluded.pad`),
		formatTime(time.Now()), probePad)
	if err != nil {
		return unavailable(fmt.Errorf("store: write probe: %w", err))
	}
	return nil
}

func (s *sqlStore) Close() error {
	return s.db.Close()
}

type scanner interface {
	Scan(dest ...any) error
}

func scanDecision(r scanner) (Decision, error) {
	d, evaluatedAt, err := scanRawDecision(r)
	if err != nil {
		return Decision{}, err
	}
	if d.EvaluatedAt, err = parseTime(evaluatedAt); err != nil {
		return Decision{}, fmt.Errorf("decision %d: evaluated_at: %w", d.Seq, err)
	}
	return d, nil
}

// scanRawDecision scans a row of decisionColumns, leaving evaluated_at as
// stored.
func scanRawDecision(r scanner) (Decision, string, error) {
	var (
		d           Decision
		evaluatedAt string
	)
	err := r.Scan(&d.Seq, &d.ID, &d.Service, &d.PatchID, &d.Stage, &d.Attempt, &d.Verdict,
		&evaluatedAt, &d.Body, &d.PrevHash, &d.Hash)
	if d.Body == nil {
		d.Body = []byte{}
	}
	return d, evaluatedAt, err
}

func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}
