package gate

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

// MemoryStore is a Store in one process's memory, for replaying the past
// (backtest) and for tests: it keeps stage attempts and their sequential
// outcomes, keeps no decision (nothing reaches an audit log), and holds no
// events, overrides, freezes or concurrency slots.
type MemoryStore struct {
	mu       sync.Mutex
	attempts map[store.AttemptKey]store.Attempt
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{attempts: map[store.AttemptKey]store.Attempt{}}
}

func (m *MemoryStore) EnsureAttempt(_ context.Context, a store.Attempt) (store.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if got, ok := m.attempts[a.AttemptKey]; ok {
		return got, nil
	}
	m.attempts[a.AttemptKey] = a
	return a, nil
}

func (m *MemoryStore) SetOutcome(_ context.Context, k store.AttemptKey, outcome string, look int) (store.Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.attempts[k]
	if a.Outcome == "" {
		a.Outcome, a.OutcomeLook = outcome, look
		m.attempts[k] = a
	}
	return a, nil
}

// KeepsNoDecisions tells the engine not to encode decisions for it.
func (m *MemoryStore) KeepsNoDecisions() bool { return true }

// AppendDecision keeps nothing.
func (m *MemoryStore) AppendDecision(_ context.Context, d store.Decision) (store.Decision, error) {
	return d, nil
}

func (m *MemoryStore) ListEvents(context.Context, store.EventFilter) ([]store.Event, error) {
	return nil, nil
}

func (m *MemoryStore) ListOverrides(context.Context, store.ControlFilter) ([]store.Override, error) {
	return nil, nil
}

func (m *MemoryStore) ListFreezes(context.Context, store.ControlFilter) ([]store.Freeze, error) {
	return nil, nil
}

// Admit refuses: a MemoryStore holds no concurrency slots, so a policy
// with a concurrency limit cannot run on it.
func (m *MemoryStore) Admit(context.Context, store.SlotKey, int, time.Time, time.Time, store.AdmitFunc) (store.Slot, error) {
	return store.Slot{}, errors.New("a memory store holds no concurrency slots")
}
