package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Patch lifecycle event types.
const (
	EventDiscovered   = "discovered"
	EventTested       = "tested"
	EventStageStarted = "stage_started"
	EventPromoted     = "promoted"
	EventRolledBack   = "rolled_back"
	EventDeployed     = "deployed"
	EventIncident     = "incident"
)

// EventTypes lists every event type in lifecycle order.
var EventTypes = []string{
	EventDiscovered, EventTested, EventStageStarted, EventPromoted,
	EventRolledBack, EventDeployed, EventIncident,
}

// Event is one patch lifecycle event. Events are never changed or removed.
type Event struct {
	// Seq orders events as they were stored (across replicas).
	Seq     int64
	ID      string
	PatchID string
	Type    string
	// Time is when it happened (as the sender says); ReceivedAt when the
	// store took it.
	Time       time.Time
	ReceivedAt time.Time
	Service    string
	Cluster    string
	Stage      string
	// Severity is the patch's severity: critical, high, medium or low.
	Severity string
	// Attempt is the stage attempt, as in the gate ("1" or a canary hash).
	Attempt string
	// Hosts is, for stage_started and deployed, how many hosts of the
	// cluster the step patches.
	Hosts  int
	Detail string
	Labels map[string]string
	// IdempotencyKey is unique per patch: the same key appends once.
	IdempotencyKey string
	// Actor is the name of the token that posted the event.
	Actor string
}

// EventFilter selects events; empty fields match all. Since is inclusive,
// Until exclusive, both on Time. Limit <= 0 means no limit.
type EventFilter struct {
	PatchID string
	Service string
	Cluster string
	Stage   string
	Type    string
	Since   time.Time
	Until   time.Time
	Limit   int
}

const eventColumns = "seq, id, patch_id, type, time, received_at, service, cluster, stage, severity, attempt, hosts, detail, labels, idempotency_key, actor"

// AppendEvent stores e unless an event with the same patch and idempotency
// key exists; it returns the stored event and whether this call created
// it. The unique constraint makes this hold across replicas. An empty ID
// gets a new one; an empty ReceivedAt is now.
func (s *sqlStore) AppendEvent(ctx context.Context, e Event) (Event, bool, error) {
	stored, created, err := s.appendEvent(ctx, e)
	if err != nil {
		return Event{}, false, unavailable(fmt.Errorf("store: append event for patch %q: %w", e.PatchID, err))
	}
	return stored, created, nil
}

func (s *sqlStore) appendEvent(ctx context.Context, e Event) (Event, bool, error) {
	switch {
	case e.PatchID == "":
		return Event{}, false, invalid("empty patch id")
	case e.IdempotencyKey == "":
		return Event{}, false, invalid("empty idempotency key")
	case e.Type == "":
		return Event{}, false, invalid("empty type")
	}
	if e.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return Event{}, false, err
		}
		e.ID = id.String()
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = time.Now()
	}
	e.Time, e.ReceivedAt = e.Time.UTC(), e.ReceivedAt.UTC()
	labels, err := encodeLabels(e.Labels)
	if err != nil {
		return Event{}, false, err
	}
	created := false
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		created = false // f runs again when its group fails
		err := tx.QueryRowContext(ctx, s.dialect.rebind(`
			INSERT INTO events (id, patch_id, type, time, received_at, service, cluster, stage, severity,
				attempt, hosts, detail, labels, idempotency_key, actor)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (patch_id, idempotency_key) DO NOTHING
			RETURNING seq`),
			e.ID, e.PatchID, e.Type, formatTime(e.Time), formatTime(e.ReceivedAt), e.Service, e.Cluster,
			e.Stage, e.Severity, e.Attempt, e.Hosts, e.Detail, labels, e.IdempotencyKey, e.Actor,
		).Scan(&e.Seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the key was taken: nothing to chain
		}
		if err != nil {
			return err
		}
		created = true
		return s.chain(ctx, tx, kindEvent, e.ID)
	})
	if err != nil {
		return Event{}, false, err
	}
	if created {
		return e, true, nil
	}
	// The key was taken: answer with the event stored under it.
	row := s.db.QueryRowContext(ctx, s.dialect.rebind(
		"SELECT "+eventColumns+" FROM events WHERE patch_id = ? AND idempotency_key = ?"),
		e.PatchID, e.IdempotencyKey)
	stored, err := scanEvent(row)
	if err != nil {
		return Event{}, false, fmt.Errorf("read event under idempotency key %q: %w", e.IdempotencyKey, err)
	}
	return stored, false, nil
}

// ListEvents returns the events f selects, oldest first (by Time, then Seq).
func (s *sqlStore) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	var (
		where []string
		args  []any
	)
	for _, c := range []struct{ column, value string }{
		{"patch_id", f.PatchID},
		{"service", f.Service},
		{"cluster", f.Cluster},
		{"stage", f.Stage},
		{"type", f.Type},
	} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, formatTime(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, formatTime(f.Until))
	}
	q := "SELECT " + eventColumns + " FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time, seq"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return queryAll(ctx, s, "list events", q, args, scanEvent)
}

func scanEvent(r scanner) (Event, error) {
	var (
		e                    Event
		at, received, labels string
	)
	err := r.Scan(&e.Seq, &e.ID, &e.PatchID, &e.Type, &at, &received, &e.Service, &e.Cluster,
		&e.Stage, &e.Severity, &e.Attempt, &e.Hosts, &e.Detail, &labels, &e.IdempotencyKey, &e.Actor)
	if err != nil {
		return Event{}, err
	}
	if e.Time, err = parseTime(at); err != nil {
		return Event{}, fmt.Errorf("event %d: time: %w", e.Seq, err)
	}
	if e.ReceivedAt, err = parseTime(received); err != nil {
		return Event{}, fmt.Errorf("event %d: received_at: %w", e.Seq, err)
	}
	if labels != "" {
		if err := json.Unmarshal([]byte(labels), &e.Labels); err != nil {
			return Event{}, fmt.Errorf("event %d: labels: %w", e.Seq, err)
		}
	}
	return e, nil
}

// encodeLabels stores labels as a JSON object ("" for none).
func encodeLabels(l map[string]string) (string, error) {
	if len(l) == 0 {
		return "", nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", fmt.Errorf("labels: %w", err)
	}
	return string(b), nil
}
