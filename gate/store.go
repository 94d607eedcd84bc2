package gate

import (
	"context"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

// Store is what the gate keeps across requests and replicas: stage
// attempts and their sequential outcome, the decision log, and the
// operator controls it reads. internal/store implements it (SQLite and
// PostgreSQL); tests use the real SQLite store or a small fake.
type Store interface {
	// EnsureAttempt returns the stored attempt for a.AttemptKey, creating
	// it from a when absent (first writer wins across replicas).
	EnsureAttempt(ctx context.Context, a store.Attempt) (store.Attempt, error)
	// SetOutcome records the sequential test's final verdict of an attempt
	// unless one is recorded, and returns the attempt as stored.
	SetOutcome(ctx context.Context, k store.AttemptKey, outcome string, look int) (store.Attempt, error)
	// AppendDecision writes a decision at the end of the audit log, durably.
	AppendDecision(ctx context.Context, d store.Decision) (store.Decision, error)
	// ListEvents returns patch lifecycle events, oldest first (stage_started
	// events start windows; discovered events carry a patch's severity).
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
	// ListOverrides and ListFreezes return the operator's overrides and
	// change freezes made through the API.
	ListOverrides(ctx context.Context, f store.ControlFilter) ([]store.Override, error)
	ListFreezes(ctx context.Context, f store.ControlFilter) ([]store.Freeze, error)
	// Admit decides an ask under the concurrency limit in a transaction
	// serialised across replicas.
	Admit(ctx context.Context, key store.SlotKey, hosts int, now, since time.Time, decide store.AdmitFunc) (store.Slot, error)
}

var _ Store = store.Store(nil)
