package store

import (
	"context"
	"fmt"
)

// Verify walks the decision log in seq order and checks that seq counts up
// from 1 without gaps, that every row's hash matches its content and that
// every row's prev_hash is the hash of the row before. It reports the first
// row that fails. Removing rows from the end of the log cannot be seen from
// inside it: compare VerifyResult.Head with a copy kept elsewhere for that.
func (s *sqlStore) Verify(ctx context.Context) (VerifyResult, error) {
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
