package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Override forces a verdict for a service, one of its patches, or one
// stage, with a reason, until it expires or is deleted. Overrides are
// never removed: a deletion is recorded with who, when and why.
type Override struct {
	Seq int64
	ID  string
	// Service is required; PatchID and Stage narrow the override (empty:
	// every patch or stage).
	Service string
	PatchID string
	Stage   string
	// Verdict is "go" or "no_go".
	Verdict   string
	Reason    string
	Actor     string
	CreatedAt time.Time
	ExpiresAt time.Time
	// DeletedAt is zero while not deleted.
	DeletedAt    time.Time
	DeletedBy    string
	DeleteReason string
}

// InForce reports whether o applies at t: not deleted and not expired.
func (o Override) InForce(t time.Time) bool {
	return o.DeletedAt.IsZero() && t.Before(o.ExpiresAt)
}

// ControlFilter selects overrides or freezes. A zero InForceAt selects
// every one ever created, expired and deleted ones too; otherwise only
// those in force at InForceAt (for freezes: not deleted and not yet ended,
// including future ones). Service selects one service's (and, for
// freezes, the global ones); empty selects all.
type ControlFilter struct {
	Service   string
	InForceAt time.Time
}

const overrideColumns = "seq, id, service, patch_id, stage, verdict, reason, actor, created_at, expires_at, deleted_at, deleted_by, delete_reason"

// CreateOverride stores o with a new ID.
func (s *sqlStore) CreateOverride(ctx context.Context, o Override) (Override, error) {
	if o.Service == "" || o.Verdict == "" || o.Reason == "" || o.ExpiresAt.IsZero() {
		return Override{}, errors.New("store: create override: service, verdict, reason and expiry are required")
	}
	o.CreatedAt, o.ExpiresAt = o.CreatedAt.UTC(), o.ExpiresAt.UTC()
	o.DeletedAt, o.DeletedBy, o.DeleteReason = time.Time{}, "", ""
	var err error
	o.ID, o.Seq, err = insertControl(ctx, s, overrideTable,
		[]string{"service", "patch_id", "stage", "verdict", "reason", "actor", "created_at", "expires_at"},
		o.Service, o.PatchID, o.Stage, o.Verdict, o.Reason, o.Actor, formatTime(o.CreatedAt), formatTime(o.ExpiresAt))
	if err != nil {
		return Override{}, unavailable(fmt.Errorf("store: create override: %w", err))
	}
	return o, nil
}

// ListOverrides returns the overrides f selects, oldest first.
func (s *sqlStore) ListOverrides(ctx context.Context, f ControlFilter) ([]Override, error) {
	return listControls(ctx, s, overrideTable, f, scanOverride)
}

// DeleteOverride records that by deleted the override at at, and returns
// it. Deleting a deleted override changes nothing and returns it as it
// is; an unknown id is ErrNotFound.
func (s *sqlStore) DeleteOverride(ctx context.Context, id, by, reason string, at time.Time) (Override, error) {
	return deleteControl(ctx, s, overrideTable, id, by, reason, at, scanOverride)
}

var overrideTable = controlTable{name: "overrides", columns: overrideColumns, end: "expires_at", kind: kindOverride}

func scanOverride(r scanner) (Override, error) {
	var (
		o                           Override
		created, expires, deletedAt string
	)
	err := r.Scan(&o.Seq, &o.ID, &o.Service, &o.PatchID, &o.Stage, &o.Verdict, &o.Reason, &o.Actor,
		&created, &expires, &deletedAt, &o.DeletedBy, &o.DeleteReason)
	if err != nil {
		return Override{}, err
	}
	return o, parseTimes(fmt.Sprintf("override %q", o.ID),
		timeField{"created_at", created, &o.CreatedAt},
		timeField{"expires_at", expires, &o.ExpiresAt},
		timeField{"deleted_at", deletedAt, &o.DeletedAt})
}

type timeField struct {
	name, text string
	to         *time.Time
}

// parseTimes parses stored times; an empty text is the zero time.
func parseTimes(what string, fs ...timeField) error {
	for _, f := range fs {
		if f.text == "" {
			*f.to = time.Time{}
			continue
		}
		t, err := parseTime(f.text)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", what, f.name, err)
		}
		*f.to = t
	}
	return nil
}
