package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Verify walks the decision log in seq order and checks that seq counts up
// from 1 without gaps, that every row's hash matches its content and that
// every row's prev_hash is the hash of the row before; then it walks the
// audit chain (chain.go) and checks every entry's link and hash, that
// every row it names still holds what was written, and that every
// decision, event, override, freeze and deletion has its entry. It reports
// the first row that fails, in the order of writes. Removing entries from
// the end of the chain cannot be seen from inside it: compare Head (or
// ChainHead) with a copy kept elsewhere for that.
func (s *sqlStore) Verify(ctx context.Context) (VerifyResult, error) {
	res, err := s.verifyDecisions(ctx)
	if err != nil {
		return VerifyResult{}, err
	}
	chain := VerifyResult{OK: true, KeyChecked: s.key != nil}
	if err := s.verifyChain(ctx, &chain); err != nil {
		return VerifyResult{}, unavailable(fmt.Errorf("store: verify: %w", err))
	}
	res.Events, res.Overrides, res.Freezes = chain.Events, chain.Overrides, chain.Freezes
	res.Entries, res.ChainHead, res.NoChain = chain.Entries, chain.ChainHead, chain.NoChain
	res.Keyed, res.KeyChecked = chain.Keyed, chain.KeyChecked
	// The audit chain orders every write, decisions included, so its
	// first problem is the first of all; when that is a decision and the
	// decisions' own chain is broken too, the latter says more precisely
	// how (a missing seq, a link).
	if !chain.OK && !(!res.OK && strings.HasPrefix(chain.FirstBrokenRow, kindDecision+" ")) {
		res.OK, res.FirstBroken, res.FirstBrokenRow, res.Problem = false, chain.FirstBroken, chain.FirstBrokenRow, chain.Problem
	}
	return res, nil
}

func (s *sqlStore) verifyDecisions(ctx context.Context) (VerifyResult, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+decisionColumns+" FROM decisions ORDER BY seq")
	if err != nil {
		return VerifyResult{}, unavailable(fmt.Errorf("store: verify: %w", err))
	}
	defer rows.Close()

	res := VerifyResult{OK: true}
	prev := Decision{Hash: GenesisHash}
	for rows.Next() {
		d, evaluatedAt, err := scanRawDecision(rows)
		if err != nil {
			return VerifyResult{}, unavailable(fmt.Errorf("store: verify: %w", err))
		}
		res.Rows++
		if res.OK {
			if broken, problem := check(prev, d, evaluatedAt); broken != 0 {
				res.OK, res.FirstBroken, res.Problem = false, broken, problem
				res.FirstBrokenRow = fmt.Sprintf("decision %d", broken)
			}
		}
		prev = d
	}
	if err := rows.Err(); err != nil {
		return VerifyResult{}, unavailable(fmt.Errorf("store: verify: %w", err))
	}
	res.Head = prev.Hash
	return res, nil
}

// check checks d, which follows prev in the log (prev.Seq is 0 before the
// first row). It returns the seq of the broken row and the problem, or 0.
func check(prev, d Decision, evaluatedAt string) (int64, string) {
	if want := prev.Seq + 1; d.Seq != want {
		if prev.Seq == 0 {
			return want, fmt.Sprintf("row %d: missing; the log starts at row %d", want, d.Seq)
		}
		return want, fmt.Sprintf("row %d: missing; row %d follows row %d", want, d.Seq, prev.Seq)
	}
	t, err := parseTime(evaluatedAt)
	if err != nil {
		return d.Seq, fmt.Sprintf("row %d: evaluated_at %q is not a time", d.Seq, evaluatedAt)
	}
	d.EvaluatedAt = t
	if decisionHash(d) != d.Hash {
		return d.Seq, fmt.Sprintf("row %d: hash does not match its content", d.Seq)
	}
	if d.PrevHash != prev.Hash {
		if prev.Seq == 0 {
			return d.Seq, fmt.Sprintf("row %d: prev_hash is not the genesis hash", d.Seq)
		}
		return d.Seq, fmt.Sprintf("row %d: prev_hash does not match row %d", d.Seq, prev.Seq)
	}
	return 0, ""
}

// broken is a problem found in the audit chain: the row or entry it is
// about, and what is wrong.
type broken struct {
	row      string
	decision int64
	problem  string
}

func (s *sqlStore) verifyChain(ctx context.Context, res *VerifyResult) error {
	rows, err := s.db.QueryContext(ctx, "SELECT "+entryColumns+" FROM audit_chain ORDER BY seq")
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist") {
			res.NoChain = true
			return nil
		}
		return err
	}
	defer rows.Close()
	seen := map[string]map[string]bool{}
	prev := entry{Hash: GenesisHash}
	var first *broken
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return err
		}
		res.Entries++
		if e.Keyed {
			res.Keyed++
		}
		if seen[e.Kind] == nil {
			seen[e.Kind] = map[string]bool{}
		}
		seen[e.Kind][e.Ref] = true
		if first == nil {
			if first, err = s.checkEntry(ctx, prev, e); err != nil {
				return err
			}
		}
		prev = e
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	res.ChainHead = prev.Hash

	// Every row has its entry: one without was written around the store.
	for _, kind := range creationKinds {
		r := chainedRows[kind]
		deletedCol := "''"
		if _, ok := deletionKind[r.table]; ok {
			deletedCol = "deleted_at"
		}
		type row struct {
			seq       int64
			id        string
			deletedAt string
		}
		all, err := queryAll(ctx, s, "verify "+r.table, "SELECT seq, id, "+deletedCol+" FROM "+r.table+" ORDER BY seq", nil,
			func(sc scanner) (row, error) {
				var r row
				return r, sc.Scan(&r.seq, &r.id, &r.deletedAt)
			})
		if err != nil {
			return err
		}
		switch kind {
		case kindEvent:
			res.Events = int64(len(all))
		case kindOverride:
			res.Overrides = int64(len(all))
		case kindFreeze:
			res.Freezes = int64(len(all))
		}
		if first != nil || res.NoChain {
			continue
		}
		for _, x := range all {
			b := broken{row: fmt.Sprintf("%s %d (id %s)", kind, x.seq, x.id)}
			if kind == kindDecision {
				b.row, b.decision = fmt.Sprintf("decision %d", x.seq), x.seq
			}
			if !seen[kind][x.id] {
				b.problem = "not in the audit chain: written around the store"
				first = &b
				break
			}
			if x.deletedAt != "" && !seen[deletionKind[r.table]][x.id] {
				b.problem = "its deletion is not in the audit chain: deleted_at was set around the store"
				first = &b
				break
			}
		}
	}
	if first != nil {
		res.OK, res.FirstBrokenRow, res.FirstBroken, res.Problem = false, first.row, first.decision, first.problem
	}
	return nil
}

// checkEntry checks e, which follows prev in the chain, and the row it
// names. It returns the problem, or nil.
func (s *sqlStore) checkEntry(ctx context.Context, prev, e entry) (*broken, error) {
	at := func(format string, args ...any) *broken {
		return &broken{row: fmt.Sprintf("chain entry %d", e.Seq), problem: fmt.Sprintf(format, args...)}
	}
	if want := prev.Seq + 1; e.Seq != want {
		return &broken{row: fmt.Sprintf("chain entry %d", want),
			problem: fmt.Sprintf("missing; entry %d follows entry %d", e.Seq, prev.Seq)}, nil
	}
	switch {
	case e.PrevHash != prev.Hash && prev.Seq == 0:
		return at("prev_hash is not the genesis hash"), nil
	case e.PrevHash != prev.Hash:
		return at("prev_hash does not match entry %d", prev.Seq), nil
	case e.Keyed && s.key != nil && entryHash(e, s.key) != e.Hash:
		return at("hash does not match under the audit key: forged, or written with another key"), nil
	case !e.Keyed && s.key != nil:
		return at("not keyed, though the chain is checked with an audit key: rewritten by someone without the key"), nil
	case !e.Keyed && entryHash(e, nil) != e.Hash:
		return at("hash does not match its content"), nil
	}
	if e.Kind == kindStart || e.Seq == 1 {
		if e.Kind != kindStart || e.Seq != 1 || e.Ref != "" || e.Digest != startDigest {
			return at("only the first entry starts the chain, and it names no row"), nil
		}
		return nil, nil
	}
	r, ok := chainedRows[e.Kind]
	if !ok {
		return at("unknown kind %q", e.Kind), nil
	}
	values, err := s.readRow(ctx, s.db, e.Kind, e.Ref)
	name := strings.TrimSuffix(e.Kind, "_deleted")
	if errors.Is(err, sql.ErrNoRows) {
		b := at("the row is gone from %s (chain entry %d)", r.table, e.Seq)
		b.row = fmt.Sprintf("%s (id %s)", name, e.Ref)
		return b, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %q: %w", e.Kind, e.Ref, err)
	}
	if rowDigest(e.Kind, values) == e.Digest {
		return nil, nil
	}
	b := &broken{row: fmt.Sprintf("%s (id %s)", name, e.Ref)}
	if !r.deletion {
		b.row = fmt.Sprintf("%s %s (id %s)", name, values[0], e.Ref)
		if e.Kind == kindDecision {
			b.row = "decision " + values[0]
			fmt.Sscan(values[0], &b.decision)
		}
		b.problem = fmt.Sprintf("changed since it was written (chain entry %d)", e.Seq)
	} else {
		b.problem = fmt.Sprintf("its deletion (who, when, why) changed since it was written (chain entry %d)", e.Seq)
	}
	return b, nil
}
