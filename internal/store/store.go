// Package store keeps what matters across requests and replicas: the
// append-only, hash-chained decision log (and its verification), the state
// of stage attempts, patch lifecycle events, overrides and change freezes
// (never removed, only marked deleted), and the concurrency slots of
// services being patched. SQLite is the default; PostgreSQL is for several
// replicas.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("not found")

// Decision is one recorded answer. Body is the full JSON answer as returned
// to the client; the other fields are indexed copies.
type Decision struct {
	Seq         int64
	ID          string
	Service     string
	PatchID     string
	Stage       string
	Attempt     string
	Verdict     string
	EvaluatedAt time.Time
	Body        []byte
	// PrevHash and Hash chain the log: Hash = sha256(PrevHash || canonical row).
	PrevHash string
	Hash     string
	// LookKey, when set, names the look the decision answers (a stage
	// attempt at one minute under one policy and the same controls).
	// The store records one decision per look key, across replicas:
	// AppendDecision of a second decision for a look records nothing and
	// returns the first (whose ID then differs from the one given). It
	// is not part of the hashed row.
	LookKey string
}

// Filter selects decisions; empty fields match all. Newest first.
type Filter struct {
	Service string
	PatchID string
	Stage   string
	Limit   int
}

// AttemptKey names one stage attempt.
type AttemptKey struct {
	Service string
	PatchID string
	Stage   string
	Attempt string
}

// Attempt is the stored state of a stage attempt.
type Attempt struct {
	AttemptKey
	// Start is the start of the evaluation window and StartSource where it
	// came from ("request", "event", "first_ask").
	Start       time.Time
	StartSource string
	FirstAsk    time.Time
	// Outcome is the sequential test's final verdict once reached
	// ("go" or "no_go"; empty while undecided) and OutcomeLook the look
	// at which it was reached.
	Outcome     string
	OutcomeLook int
}

// VerifyResult is the outcome of checking the hash chains: the decisions'
// own, and the audit chain over decisions, events, overrides and freezes
// (chain.go).
type VerifyResult struct {
	// Rows counts decisions; Events, Overrides and Freezes the other rows.
	Rows                       int64
	Events, Overrides, Freezes int64
	// OK is false when a row or chain entry does not match; FirstBrokenRow
	// then names the first, in the order of writes ("decision 3", "event 7
	// (id …)", "chain entry 12"), and Problem says what is wrong.
	// FirstBroken is that decision's seq when the row is a decision.
	OK             bool
	FirstBroken    int64
	FirstBrokenRow string
	Problem        string
	// Head is the hash of the last decision (GenesisHash for an empty
	// log). Keep a copy outside the database to notice rows cut from the
	// end.
	Head string
	// Entries counts audit chain entries and ChainHead is the newest one's
	// hash. NoChain is true for a store written by a patchgate from before
	// the audit chain, not yet opened for writing (which chains its rows).
	Entries   int64
	ChainHead string
	NoChain   bool
	// Keyed counts entries hashed under an audit key; KeyChecked says
	// whether they were checked under one (Verify of a store opened
	// WithAuditKey), otherwise only their links and row digests were.
	Keyed      int64
	KeyChecked bool
}

// Store is implemented by the SQLite and PostgreSQL stores.
type Store interface {
	// AppendDecision writes d at the end of the chain, durably, and returns
	// it with Seq, PrevHash and Hash filled. Safe across replicas. When a
	// decision was recorded under d.LookKey already, it records nothing
	// and returns that decision. Concurrent appends share one commit.
	AppendDecision(ctx context.Context, d Decision) (Decision, error)
	GetDecision(ctx context.Context, id string) (Decision, error)
	ListDecisions(ctx context.Context, f Filter) ([]Decision, error)
	Verify(ctx context.Context) (VerifyResult, error)
	// DecisionByHash returns the decision whose row hash is hash (a head
	// noted earlier, to prove no rows were removed from the end since).
	DecisionByHash(ctx context.Context, hash string) (Decision, error)

	// EnsureAttempt returns the stored attempt for a.AttemptKey, creating it
	// from a when absent (first writer wins across replicas).
	EnsureAttempt(ctx context.Context, a Attempt) (Attempt, error)
	// SetOutcome records the sequential test's final verdict for an attempt
	// if none is recorded yet, and returns the attempt as stored.
	SetOutcome(ctx context.Context, k AttemptKey, outcome string, look int) (Attempt, error)

	// AppendEvent stores a patch lifecycle event once per (patch,
	// idempotency key), across replicas; created is false when the key was
	// already taken, and the event returned is then the one stored first.
	AppendEvent(ctx context.Context, e Event) (stored Event, created bool, err error)
	// ListEvents returns events oldest first (events.go).
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)

	// Overrides and change freezes (overrides.go, freezes.go): never
	// removed; a deletion is recorded with who, when and why.
	CreateOverride(ctx context.Context, o Override) (Override, error)
	ListOverrides(ctx context.Context, f ControlFilter) ([]Override, error)
	DeleteOverride(ctx context.Context, id, by, reason string, at time.Time) (Override, error)
	CreateFreeze(ctx context.Context, f Freeze) (Freeze, error)
	ListFreezes(ctx context.Context, f ControlFilter) ([]Freeze, error)
	DeleteFreeze(ctx context.Context, id, by, reason string, at time.Time) (Freeze, error)

	// Admit decides an ask under the concurrency limit in a transaction
	// serialised across replicas (slots.go); ListSlots shows the line.
	Admit(ctx context.Context, key SlotKey, hosts int, now, since time.Time, decide AdmitFunc) (Slot, error)
	ListSlots(ctx context.Context) ([]Slot, error)

	// Ping returns nil when the store can write (a small synced
	// transaction on a table of its own), else an error wrapping
	// ErrUnavailable.
	Ping(ctx context.Context) error
	Close() error
}
