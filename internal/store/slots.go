package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// SlotKey names one service's rollout of one patch in one cluster (""
// when the asks name no cluster).
type SlotKey struct {
	Service string
	PatchID string
	Cluster string
}

// Slot is a place in the rollout line of the concurrency limit, or, once
// GrantedAt is set, a granted slot: the service may patch.
type Slot struct {
	SlotKey
	// Hosts is how many of the cluster's hosts the rollout patches at
	// once, as last asked (0: unknown).
	Hosts    int
	QueuedAt time.Time
	LastAsk  time.Time
	// GrantedAt is zero while the slot waits in line.
	GrantedAt time.Time
}

// AdmitFunc decides one ask under the concurrency limit. It gets the
// asker's slot (new ones have QueuedAt equal to now), every other slot,
// and the stage_started, deployed and rolled_back events since the time
// given to Admit. It returns the asker's slot as it is to be stored and
// the slots to drop (finished or abandoned ones).
type AdmitFunc func(own Slot, others []Slot, events []Event) (Slot, []SlotKey)

// pgSlotsLockKey serialises Admit across replicas ("pgslots" in ASCII).
const pgSlotsLockKey = 0x7067736c6f7473

const slotColumns = "service, patch_id, cluster, hosts, queued_at, last_ask, granted_at"

// Admit runs decide for key in a transaction that is serialised against
// every other Admit, in this process and in others, so two replicas never
// grant the same free place. Concurrent Admits in one process share the
// transaction (group.go), each seeing the slots as the ones before it
// left them, and one commit. hosts, when above 0, updates the slot's hosts.
func (s *sqlStore) Admit(ctx context.Context, key SlotKey, hosts int, now, since time.Time, decide AdmitFunc) (Slot, error) {
	own, err := s.admit(ctx, key, hosts, now, since, decide)
	if err != nil {
		return Slot{}, unavailable(fmt.Errorf("store: admit %v: %w", key, err))
	}
	return own, nil
}

func (s *sqlStore) admit(ctx context.Context, key SlotKey, hosts int, now, since time.Time, decide AdmitFunc) (Slot, error) {
	var own Slot
	err := s.admits.do(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		own, err = admitIn(ctx, s, tx, key, hosts, now, since, decide)
		return err
	})
	return own, err
}

// commitAdmits is the admissions' group commit: one transaction
// serialised against every other Admit (in other processes too), each
// admission in turn, seeing the ones before it, and one commit.
func (s *sqlStore) commitAdmits(ctx context.Context, ops []*writeOp) error {
	return commitOps(ctx, ops, s.beginAdmit)
}

// beginAdmit starts an admissions' transaction. SQLite: every transaction
// is BEGIN IMMEDIATE (see open.go), which takes the database's write lock
// up front. PostgreSQL: the slots' advisory lock, and synchronous_commit
// on for the transaction whatever the server's or role's default (a
// granted slot must survive a crash, as a decision must).
func (s *sqlStore) beginAdmit(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, s.dialect.txOptions)
	if err != nil {
		return nil, err
	}
	if s.dialect.name == "postgres" {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.FormatInt(pgSlotsLockKey, 10)+"), "+
			"set_config('synchronous_commit', 'on', true)"); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return tx, nil
}

func admitIn(ctx context.Context, s *sqlStore, tx *sql.Tx, key SlotKey, hosts int, now, since time.Time, decide AdmitFunc) (Slot, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+slotColumns+" FROM rollout_slots ORDER BY queued_at, service, patch_id, cluster")
	if err != nil {
		return Slot{}, err
	}
	var (
		own    Slot
		found  bool
		others []Slot
	)
	for rows.Next() {
		sl, err := scanSlot(rows)
		if err != nil {
			rows.Close()
			return Slot{}, err
		}
		if sl.SlotKey == key {
			own, found = sl, true
			continue
		}
		others = append(others, sl)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Slot{}, err
	}
	if !found {
		own = Slot{SlotKey: key, QueuedAt: now}
	}
	own.LastAsk = now
	if hosts > 0 {
		own.Hosts = hosts
	}

	evRows, err := tx.QueryContext(ctx, s.dialect.rebind(
		"SELECT "+eventColumns+" FROM events WHERE type IN (?, ?, ?) AND time >= ? ORDER BY time, seq"),
		EventStageStarted, EventDeployed, EventRolledBack, formatTime(since))
	if err != nil {
		return Slot{}, err
	}
	var events []Event
	for evRows.Next() {
		e, err := scanEvent(evRows)
		if err != nil {
			evRows.Close()
			return Slot{}, err
		}
		events = append(events, e)
	}
	evRows.Close()
	if err := evRows.Err(); err != nil {
		return Slot{}, err
	}

	own, drop := decide(own, others, events)
	own.SlotKey = key
	for _, k := range drop {
		if k == key {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.dialect.rebind(
			"DELETE FROM rollout_slots WHERE service = ? AND patch_id = ? AND cluster = ?"),
			k.Service, k.PatchID, k.Cluster); err != nil {
			return Slot{}, err
		}
	}
	granted := ""
	if !own.GrantedAt.IsZero() {
		granted = formatTime(own.GrantedAt)
	}
	_, err = tx.ExecContext(ctx, s.dialect.rebind(`
		INSERT INTO rollout_slots (`+slotColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (service, patch_id, cluster) DO UPDATE SET
			hosts = excluded.hosts, queued_at = excluded.queued_at,
			last_ask = excluded.last_ask, granted_at = excluded.granted_at`),
		key.Service, key.PatchID, key.Cluster, own.Hosts,
		formatTime(own.QueuedAt), formatTime(own.LastAsk), granted)
	if err != nil {
		return Slot{}, err
	}
	return own, nil
}

// ListSlots returns every slot, granted and waiting, in line order.
func (s *sqlStore) ListSlots(ctx context.Context) ([]Slot, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+slotColumns+" FROM rollout_slots ORDER BY queued_at, service, patch_id, cluster")
	if err != nil {
		return nil, unavailable(fmt.Errorf("store: list slots: %w", err))
	}
	defer rows.Close()
	var out []Slot
	for rows.Next() {
		sl, err := scanSlot(rows)
		if err != nil {
			return nil, unavailable(fmt.Errorf("store: list slots: %w", err))
		}
		out = append(out, sl)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(fmt.Errorf("store: list slots: %w", err))
	}
	return out, nil
}

func scanSlot(r scanner) (Slot, error) {
	var (
		sl                    Slot
		queued, last, granted string
	)
	if err := r.Scan(&sl.Service, &sl.PatchID, &sl.Cluster, &sl.Hosts, &queued, &last, &granted); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Slot{}, ErrNotFound
		}
		return Slot{}, err
	}
	return sl, parseTimes(fmt.Sprintf("slot %v", sl.SlotKey),
		timeField{"queued_at", queued, &sl.QueuedAt},
		timeField{"last_ask", last, &sl.LastAsk},
		timeField{"granted_at", granted, &sl.GrantedAt})
}
