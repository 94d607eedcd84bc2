package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Group commit. Every durable write (decisions, events, overrides,
// freezes, stage attempts) goes through write: concurrent writes in one
// process are committed together, in one transaction holding the writer
// lock, so N writers that arrive while a commit is syncing share the next
// sync instead of taking turns for one each. Nobody is answered before
// the transaction holding their write has committed (and, with SQLite's
// synchronous=FULL and PostgreSQL's synchronous_commit, been synced).
//
// There is no background goroutine and no timer: the first writer to find
// the writer slot free commits everything queued at that moment; writers
// queued behind it wait for their write's outcome, or take the slot next.

// writeOp is one write waiting in a group.
type writeOp struct {
	ctx  context.Context
	f    func(ctx context.Context, tx *sql.Tx) error
	done chan struct{}
	err  error
}

// group is a queue of writes of one kind (the writer lock's, or the
// concurrency slots').
type group struct {
	// slot holds one token while a group commits.
	slot chan struct{}

	mu      sync.Mutex
	pending []*writeOp

	// commit runs ops in one transaction. It is called with the slot held.
	commit func(ctx context.Context, ops []*writeOp) error
	// groups counts transactions and ops the writes they held (tests and
	// benchmarks read them).
	groups, ops int64
}

func newGroup(commit func(ctx context.Context, ops []*writeOp) error) *group {
	return &group{slot: make(chan struct{}, 1), commit: commit}
}

// do runs f in a transaction shared with the other writes queued with it
// and returns once that transaction committed or failed. f may run more
// than once (when its group fails, each write runs again on its own), so
// it must reset what it reports on each run. A write whose ctx ends
// before a group took it is withdrawn; once taken, do waits for its
// outcome, which the group's deadline (the latest of its writes') bounds.
func (g *group) do(ctx context.Context, f func(ctx context.Context, tx *sql.Tx) error) error {
	op := &writeOp{ctx: ctx, f: f, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, op)
	g.mu.Unlock()
	for {
		select {
		case <-op.done:
			return op.err
		case g.slot <- struct{}{}:
			g.mu.Lock()
			ops := g.pending
			g.pending = nil
			g.mu.Unlock()
			if len(ops) > 0 {
				g.run(ops)
			}
			<-g.slot
		case <-ctx.Done():
			g.mu.Lock()
			i := slices.Index(g.pending, op)
			if i >= 0 {
				g.pending = slices.Delete(g.pending, i, i+1)
			}
			g.mu.Unlock()
			if i >= 0 {
				return ctx.Err()
			}
			<-op.done
			return op.err
		}
	}
}

// run commits ops together; when that fails and there were several, each
// runs again alone, so one bad write (a duplicate id) fails only itself.
func (g *group) run(ops []*writeOp) {
	defer func() {
		for _, op := range ops {
			close(op.done)
		}
	}()
	if len(ops) == 1 {
		ops[0].err = g.counted(ops[0].ctx, ops)
		return
	}
	ctx, cancel := groupContext(ops)
	err := g.counted(ctx, ops)
	cancel()
	if err == nil {
		return
	}
	for _, op := range ops {
		op.err = g.counted(op.ctx, []*writeOp{op})
	}
}

// counted is g.commit, counted in stats.
func (g *group) counted(ctx context.Context, ops []*writeOp) error {
	g.mu.Lock()
	g.groups++
	g.ops += int64(len(ops))
	g.mu.Unlock()
	return g.commit(ctx, ops)
}

// groupContext is the context of a group: no writer's cancellation ends
// it, and its deadline is the latest of theirs (none if one has none).
func groupContext(ops []*writeOp) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(ops[0].ctx)
	var latest time.Time
	for _, op := range ops {
		d, ok := op.ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(ctx, latest)
}

// write runs f in a transaction holding the writer lock, grouped with the
// writes queued beside it (see above), and returns once it committed.
func (s *sqlStore) write(ctx context.Context, f func(ctx context.Context, tx *sql.Tx) error) error {
	return s.writes.do(ctx, f)
}

// commitWrites is the writer group's commit: one transaction holding the
// writer lock, every write in order, one commit.
func (s *sqlStore) commitWrites(ctx context.Context, ops []*writeOp) error {
	return commitOps(ctx, ops, s.beginWrite)
}

// commitOps runs a group's writes in order in one transaction begun by
// begin, and commits it.
func commitOps(ctx context.Context, ops []*writeOp, begin func(context.Context) (*sql.Tx, error)) error {
	tx, err := begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, op := range ops {
		if err := op.f(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
