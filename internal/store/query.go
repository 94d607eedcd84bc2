package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// queryAll runs q and scans every row with scan; what names the work in
// errors ("list overrides").
func queryAll[T any](ctx context.Context, s *sqlStore, what, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	return queryAllIn(ctx, s.db, s, what, q, args, scan)
}

// queryAllIn is queryAll on db, a database or a transaction.
func queryAllIn[T any](ctx context.Context, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, s *sqlStore, what, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, s.dialect.rebind(q), args...)
	if err != nil {
		return nil, unavailable(fmt.Errorf("store: %s: %w", what, err))
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, unavailable(fmt.Errorf("store: %s: %w", what, err))
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(fmt.Errorf("store: %s: %w", what, err))
	}
	return out, nil
}

// controlTable describes a table of operator controls (overrides,
// freezes): rows that are never removed, only marked deleted.
type controlTable struct {
	name, columns string
	// end is the column after which a row is no longer in force.
	end string
	// global is true when a row with an empty service applies to every
	// service, so a service filter also returns those.
	global bool
	// kind is the audit chain entry kind of a new row.
	kind string
}

// list returns the rows f selects, oldest first.
func listControls[T any](ctx context.Context, s *sqlStore, t controlTable, f ControlFilter, scan func(scanner) (T, error)) ([]T, error) {
	var (
		where []string
		args  []any
	)
	if f.Service != "" {
		if t.global {
			where = append(where, "(service = ? OR service = '')")
		} else {
			where = append(where, "service = ?")
		}
		args = append(args, f.Service)
	}
	if !f.InForceAt.IsZero() {
		where = append(where, "deleted_at = ''", t.end+" > ?")
		args = append(args, formatTime(f.InForceAt))
	}
	q := "SELECT " + t.columns + " FROM " + t.name
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return queryAll(ctx, s, "list "+t.name, q+" ORDER BY seq", args, scan)
}

// insertControl stores a new row of t under a new ID (a version 7 UUID)
// and returns the ID and the row's seq; columns names the row's other
// fields, values holds them in that order.
func insertControl(ctx context.Context, s *sqlStore, t controlTable, columns []string, values ...any) (id string, seq int64, err error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", 0, err
	}
	id = u.String()
	q := "INSERT INTO " + t.name + " (id, " + strings.Join(columns, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(columns)) + ") RETURNING seq"
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.dialect.rebind(q), append([]any{id}, values...)...).Scan(&seq); err != nil {
			return err
		}
		return s.chain(ctx, tx, t.kind, id)
	})
	return id, seq, err
}

// deleteControl records that by deleted row id at at, and returns the row.
// Deleting a deleted row changes nothing; an unknown id is ErrNotFound.
func deleteControl[T any](ctx context.Context, s *sqlStore, t controlTable, id, by, reason string, at time.Time, scan func(scanner) (T, error)) (T, error) {
	var zero T
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.dialect.rebind(`
			UPDATE `+t.name+` SET deleted_at = ?, deleted_by = ?, delete_reason = ?
			WHERE id = ? AND deleted_at = ''`), formatTime(at), by, reason, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return s.chain(ctx, tx, deletionKind[t.name], id)
	})
	if err != nil {
		return zero, unavailable(fmt.Errorf("store: delete %s %q: %w", t.name, id, err))
	}
	v, err := scan(s.db.QueryRowContext(ctx, s.dialect.rebind("SELECT "+t.columns+" FROM "+t.name+" WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return zero, unavailable(fmt.Errorf("store: delete %s %q: %w", t.name, id, err))
	}
	return v, nil
}
