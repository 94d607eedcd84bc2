package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Freeze is a change freeze created through the API: from StartsAt to
// EndsAt no stage of the service (of every service when Service is empty)
// may be promoted. Freezes are never removed: a deletion is recorded with
// who, when and why.
type Freeze struct {
	Seq          int64
	ID           string
	Service      string
	StartsAt     time.Time
	EndsAt       time.Time
	Reason       string
	Actor        string
	CreatedAt    time.Time
	DeletedAt    time.Time
	DeletedBy    string
	DeleteReason string
}

// InForce reports whether f freezes changes at t.
func (f Freeze) InForce(t time.Time) bool {
	return f.DeletedAt.IsZero() && !t.Before(f.StartsAt) && t.Before(f.EndsAt)
}

const freezeColumns = "seq, id, service, starts_at, ends_at, reason, actor, created_at, deleted_at, deleted_by, delete_reason"

// CreateFreeze stores f with a new ID.
func (s *sqlStore) CreateFreeze(ctx context.Context, f Freeze) (Freeze, error) {
	if f.Reason == "" || f.StartsAt.IsZero() || !f.EndsAt.After(f.StartsAt) {
		return Freeze{}, errors.New("store: create freeze: a reason and an end after the start are required")
	}
	f.StartsAt, f.EndsAt, f.CreatedAt = f.StartsAt.UTC(), f.EndsAt.UTC(), f.CreatedAt.UTC()
	f.DeletedAt, f.DeletedBy, f.DeleteReason = time.Time{}, "", ""
	var err error
	f.ID, f.Seq, err = insertControl(ctx, s, freezeTable,
		[]string{"service", "starts_at", "ends_at", "reason", "actor", "created_at"},
		f.Service, formatTime(f.StartsAt), formatTime(f.EndsAt), f.Reason, f.Actor, formatTime(f.CreatedAt))
	if err != nil {
		return Freeze{}, unavailable(fmt.Errorf("store: create freeze: %w", err))
	}
	return f, nil
}

// ListFreezes returns the freezes f selects, oldest first. With a
// Service, the freezes of every service (Service "") come too.
func (s *sqlStore) ListFreezes(ctx context.Context, f ControlFilter) ([]Freeze, error) {
	return listControls(ctx, s, freezeTable, f, scanFreeze)
}

// DeleteFreeze records that by deleted the freeze at at, and returns it.
// Deleting a deleted freeze changes nothing; an unknown id is ErrNotFound.
func (s *sqlStore) DeleteFreeze(ctx context.Context, id, by, reason string, at time.Time) (Freeze, error) {
	return deleteControl(ctx, s, freezeTable, id, by, reason, at, scanFreeze)
}

var freezeTable = controlTable{name: "freezes", columns: freezeColumns, end: "ends_at", global: true, kind: kindFreeze}

func scanFreeze(r scanner) (Freeze, error) {
	var (
		f                                Freeze
		starts, ends, created, deletedAt string
	)
	err := r.Scan(&f.Seq, &f.ID, &f.Service, &starts, &ends, &f.Reason, &f.Actor, &created,
		&deletedAt, &f.DeletedBy, &f.DeleteReason)
	if err != nil {
		return Freeze{}, err
	}
	return f, parseTimes(fmt.Sprintf("freeze %q", f.ID),
		timeField{"starts_at", starts, &f.StartsAt},
		timeField{"ends_at", ends, &f.EndsAt},
		timeField{"created_at", created, &f.CreatedAt},
		timeField{"deleted_at", deletedAt, &f.DeletedAt})
}
