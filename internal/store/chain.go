package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// The audit chain (table audit_chain) is one sequence over every kind of
// row the store keeps for the record: decisions, events, overrides and
// freezes, and the deletion of an override or a freeze. Each write appends
// one entry in the same transaction as the row, under the writer lock, so
// the chain's order is the order of the writes across replicas. An entry
// holds the row's kind, its id and a digest of the row as stored; its hash
// covers the hash of the entry before, so changing, removing or adding a
// row anywhere shows in `audit verify` as the first entry (or row) that no
// longer matches. The decisions keep their own chain as well (hash.go):
// its head is what `audit verify --head` compares.
//
// With a key (store.audit_key_file), entry hashes are HMAC-SHA256 under
// it: someone who can write the database but does not hold the key cannot
// recompute them after an edit.

// Kinds of chain entries.
const (
	kindStart           = "start"
	kindDecision        = "decision"
	kindEvent           = "event"
	kindOverride        = "override"
	kindOverrideDeleted = "override_deleted"
	kindFreeze          = "freeze"
	kindFreezeDeleted   = "freeze_deleted"
)

// chainedRow says, per kind, which table and columns a digest covers. A
// creation covers the row as created (seq included, so rows cannot trade
// places); a deletion covers the fields the deletion set.
type chainedRow struct {
	table   string
	columns string
	// deletion: the entry records a deletion of a row created before.
	deletion bool
}

var chainedRows = map[string]chainedRow{
	kindDecision:        {table: "decisions", columns: decisionColumns},
	kindEvent:           {table: "events", columns: eventColumns},
	kindOverride:        {table: "overrides", columns: "seq, id, service, patch_id, stage, verdict, reason, actor, created_at, expires_at"},
	kindOverrideDeleted: {table: "overrides", columns: "id, deleted_at, deleted_by, delete_reason", deletion: true},
	kindFreeze:          {table: "freezes", columns: "seq, id, service, starts_at, ends_at, reason, actor, created_at"},
	kindFreezeDeleted:   {table: "freezes", columns: "id, deleted_at, deleted_by, delete_reason", deletion: true},
}

// creationKinds are the kinds whose every row must have an entry, in the
// order migration chains rows written before the chain existed.
var creationKinds = []string{kindDecision, kindEvent, kindOverride, kindFreeze}

// deletionKind is the deletion entry kind of a control table.
var deletionKind = map[string]string{"overrides": kindOverrideDeleted, "freezes": kindFreezeDeleted}

// chainVersion and rowVersion name the encodings below.
const (
	chainVersion = "patchgate.chain.v1"
	rowVersion   = "patchgate.row.v1"
)

// entry is one row of audit_chain.
type entry struct {
	Seq      int64
	Kind     string
	Ref      string
	Digest   string
	Keyed    bool
	PrevHash string
	Hash     string
}

const entryColumns = "seq, kind, ref, digest, keyed, prev_hash, hash"

// entryHash is SHA-256 (HMAC-SHA256 under key when e is keyed) of
// e.PrevHash and e's fields, each preceded by its length.
func entryHash(e entry, key []byte) string {
	var h hash.Hash
	if e.Keyed {
		h = hmac.New(sha256.New, key)
	} else {
		h = sha256.New()
	}
	h.Write([]byte(e.PrevHash))
	keyed := "0"
	if e.Keyed {
		keyed = "1"
	}
	for _, f := range []string{chainVersion, strconv.FormatInt(e.Seq, 10), e.Kind, e.Ref, e.Digest, keyed} {
		writeField(h, []byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// startDigest is the digest of the first entry, which stands for no row.
var startDigest = rowDigest(kindStart, nil)

func rowDigest(kind string, values []string) string {
	h := sha256.New()
	writeField(h, []byte(rowVersion))
	writeField(h, []byte(kind))
	for _, v := range values {
		writeField(h, []byte(v))
	}
	return hex.EncodeToString(h.Sum(nil))
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readRow reads the columns of kind's row id as stored, as text. It
// returns sql.ErrNoRows when the row is missing.
func (s *sqlStore) readRow(ctx context.Context, q querier, kind, id string) ([]string, error) {
	r := chainedRows[kind]
	n := strings.Count(r.columns, ",") + 1
	values := make([]string, n)
	dest := make([]any, n)
	for i := range values {
		dest[i] = &values[i]
	}
	err := q.QueryRowContext(ctx, s.dialect.rebind("SELECT "+r.columns+" FROM "+r.table+" WHERE id = ?"), id).Scan(dest...)
	return values, err
}

// chain appends the entry for kind's row id, as stored in tx, to the
// chain. tx must hold the writer lock (beginWrite).
func (s *sqlStore) chain(ctx context.Context, tx *sql.Tx, kind, id string) error {
	values, err := s.readRow(ctx, tx, kind, id)
	if err != nil {
		return fmt.Errorf("audit chain: read %s %q: %w", kind, id, err)
	}
	return s.appendEntry(ctx, tx, kind, id, rowDigest(kind, values))
}

func (s *sqlStore) appendEntry(ctx context.Context, tx *sql.Tx, kind, ref, digest string) error {
	e := entry{Kind: kind, Ref: ref, Digest: digest, Keyed: s.key != nil}
	head, err := chainHead(ctx, tx)
	if err != nil {
		return err
	}
	e.Seq, e.PrevHash = head.Seq+1, head.Hash
	e.Hash = entryHash(e, s.key)
	_, err = tx.ExecContext(ctx, s.dialect.rebind(
		"INSERT INTO audit_chain ("+entryColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)"),
		e.Seq, e.Kind, e.Ref, e.Digest, boolInt(e.Keyed), e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("audit chain: append %s %q: %w", kind, ref, err)
	}
	return nil
}

// chainHead returns the newest entry, or one with Seq 0 and the genesis
// hash when the chain is empty.
func chainHead(ctx context.Context, q querier) (entry, error) {
	e, err := scanEntry(q.QueryRowContext(ctx, "SELECT "+entryColumns+" FROM audit_chain ORDER BY seq DESC LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return entry{Hash: GenesisHash}, nil
	}
	if err != nil {
		return entry{}, fmt.Errorf("audit chain: read head: %w", err)
	}
	return e, nil
}

func scanEntry(r scanner) (entry, error) {
	var (
		e     entry
		keyed int64
	)
	err := r.Scan(&e.Seq, &e.Kind, &e.Ref, &e.Digest, &keyed, &e.PrevHash, &e.Hash)
	e.Keyed = keyed != 0
	return e, err
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// migrateChain runs inside the migration's transaction. The first time,
// on an empty chain, it writes the start entry and then chains every row
// stored before (decisions, events, overrides, freezes, each in seq
// order, then recorded deletions): such rows are covered from then on,
// not before. Later it only checks the key: a key given for a chain
// written without one rekeys the whole chain (after checking it), and a
// chain keyed under another key, or keyed while no key is given, is an
// error rather than a chain that would stop verifying.
func (s *sqlStore) migrateChain(ctx context.Context, tx *sql.Tx) error {
	head, err := chainHead(ctx, tx)
	if err != nil {
		return err
	}
	if head.Seq == 0 {
		return s.chainExisting(ctx, tx)
	}
	switch {
	case head.Keyed && s.key == nil:
		return errors.New("the audit chain is keyed (HMAC): set store.audit_key_file to the key it was written with")
	case head.Keyed && entryHash(head, s.key) != head.Hash:
		return fmt.Errorf("store.audit_key_file: the audit chain's newest entry (%d) does not verify under this key: it was written with another key, or forged", head.Seq)
	case !head.Keyed && s.key != nil:
		return s.rekey(ctx, tx)
	}
	return nil
}

func (s *sqlStore) chainExisting(ctx context.Context, tx *sql.Tx) error {
	if err := s.appendEntry(ctx, tx, kindStart, "", startDigest); err != nil {
		return err
	}
	for _, kind := range []string{kindDecision, kindEvent, kindOverride, kindFreeze, kindOverrideDeleted, kindFreezeDeleted} {
		r := chainedRows[kind]
		q := "SELECT id FROM " + r.table
		if r.deletion {
			q += " WHERE deleted_at <> ''"
		}
		ids, err := queryAllIn(ctx, tx, s, "chain existing "+r.table, q+" ORDER BY seq", nil, func(sc scanner) (string, error) {
			var id string
			return id, sc.Scan(&id)
		})
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.chain(ctx, tx, kind, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// rekey rewrites the chain's hashes under s.key, from the first entry
// written without it, after checking every link and hash before.
func (s *sqlStore) rekey(ctx context.Context, tx *sql.Tx) error {
	entries, err := queryAllIn(ctx, tx, s, "read audit chain", "SELECT "+entryColumns+" FROM audit_chain ORDER BY seq", nil, scanEntry)
	if err != nil {
		return err
	}
	oldPrev, newPrev := GenesisHash, GenesisHash
	rewrite := false
	for i, e := range entries {
		if e.Seq != int64(i+1) || e.PrevHash != oldPrev || entryHash(e, s.key) != e.Hash {
			return fmt.Errorf("audit chain: entry %d does not verify, so it is not rekeyed under store.audit_key_file: run `patchgate audit verify`", int64(i+1))
		}
		oldPrev = e.Hash
		if !e.Keyed {
			rewrite = true
		}
		if rewrite {
			e.Keyed, e.PrevHash = true, newPrev
			e.Hash = entryHash(e, s.key)
			if _, err := tx.ExecContext(ctx, s.dialect.rebind("UPDATE audit_chain SET keyed = 1, prev_hash = ?, hash = ? WHERE seq = ?"),
				e.PrevHash, e.Hash, e.Seq); err != nil {
				return fmt.Errorf("audit chain: rekey entry %d: %w", e.Seq, err)
			}
		}
		newPrev = e.Hash
	}
	return nil
}
