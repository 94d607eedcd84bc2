package store

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"
)

// chainFixture writes, interleaved, what the audit chain covers:
//
//	entry 1 start        6 freeze f1         11 freeze_deleted f1
//	      2 decision 1   7 decision 2        12 event e3
//	      3 event e1     8 override o2       13 decision 3
//	      4 override o1  9 override_deleted o2
//	      5 event e2    10 freeze f2
type chainFixture struct {
	events    []Event
	overrides []Override
	freezes   []Freeze
}

func writeChainFixture(t *testing.T, s Store) chainFixture {
	t.Helper()
	ctx := t.Context()
	var f chainFixture
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	event := func(key string) {
		e, _, err := s.AppendEvent(ctx, Event{PatchID: "p1", Type: EventStageStarted, Time: t0, Service: "checkout",
			Stage: "canary", IdempotencyKey: key, Detail: "started " + key, Actor: "ci"})
		must(err)
		f.events = append(f.events, e)
	}
	override := func(verdict string) {
		o, err := s.CreateOverride(ctx, Override{Service: "checkout", Verdict: verdict, Reason: "hotfix", Actor: "sre",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		must(err)
		f.overrides = append(f.overrides, o)
	}
	freeze := func() {
		fr, err := s.CreateFreeze(ctx, Freeze{Service: "checkout", StartsAt: t0, EndsAt: t0.Add(time.Hour), Reason: "sale", Actor: "sre", CreatedAt: t0})
		must(err)
		f.freezes = append(f.freezes, fr)
	}
	appendOne := func(i int) {
		_, err := s.AppendDecision(ctx, decision(i, "checkout", "p1", "canary", "no_go"))
		must(err)
	}
	appendOne(1)
	event("k1")
	override("go")
	event("k2")
	freeze()
	appendOne(2)
	override("no_go")
	_, err := s.DeleteOverride(ctx, f.overrides[1].ID, "oncall", "fixed", t0.Add(time.Minute))
	must(err)
	freeze()
	_, err = s.DeleteFreeze(ctx, f.freezes[0].ID, "oncall", "sale over", t0.Add(time.Minute))
	must(err)
	// Deleting again records nothing.
	_, err = s.DeleteFreeze(ctx, f.freezes[0].ID, "oncall", "again", t0.Add(2*time.Minute))
	must(err)
	event("k3")
	// A duplicate event (same idempotency key) records nothing either.
	_, created, err := s.AppendEvent(ctx, Event{PatchID: "p1", Type: EventStageStarted, Time: t0, IdempotencyKey: "k3"})
	must(err)
	if created {
		t.Fatal("duplicate event created")
	}
	appendOne(3)
	return f
}

// testAuditChain edits every kind of row the way someone with write access
// to the database could, and checks that verify names the first row
// changed, in the order the rows were written.
func testAuditChain(t *testing.T, nb newBackend) {
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, s Store, f chainFixture)
		// wantRow is the start of FirstBrokenRow, wantProblem a part of
		// Problem.
		wantRow, wantProblem string
	}{
		{name: "intact"},
		{
			name: "event detail",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE events SET detail = 'nothing happened' WHERE id = ?", f.events[1].ID)
			},
			wantRow: "event 2 (id ", wantProblem: "changed since it was written (chain entry 5)",
		},
		{
			name: "event removed",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "DELETE FROM events WHERE id = ?", f.events[0].ID)
			},
			wantRow: "event (id ", wantProblem: "the row is gone from events (chain entry 3)",
		},
		{
			name: "event added around the store",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, `INSERT INTO events (id, patch_id, type, time, received_at, service, cluster, stage, severity,
					attempt, hosts, detail, labels, idempotency_key, actor)
					SELECT 'forged', patch_id, 'rolled_back', time, received_at, service, cluster, stage, severity,
					attempt, hosts, detail, labels, 'forged-key', actor FROM events WHERE id = ?`, f.events[0].ID)
			},
			// PostgreSQL's identity skips the seq the duplicate took.
			wantRow: "event ", wantProblem: "(id forged): not in the audit chain",
		},
		{
			name: "override reason",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE overrides SET reason = 'approved by CTO' WHERE id = ?", f.overrides[0].ID)
			},
			wantRow: "override 1 (id ", wantProblem: "chain entry 4",
		},
		{
			name: "override undeleted",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE overrides SET deleted_at = '', deleted_by = '', delete_reason = '' WHERE id = ?", f.overrides[1].ID)
			},
			wantRow: "override (id ", wantProblem: "its deletion (who, when, why) changed since it was written (chain entry 9)",
		},
		{
			name: "override deleted around the store",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE overrides SET deleted_at = ?, deleted_by = 'x', delete_reason = 'y' WHERE id = ?",
					formatTime(t0), f.overrides[0].ID)
			},
			wantRow: "override 1 (id ", wantProblem: "its deletion is not in the audit chain",
		},
		{
			name: "freeze end",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE freezes SET ends_at = ? WHERE id = ?", formatTime(t0.Add(time.Minute)), f.freezes[1].ID)
			},
			wantRow: "freeze 2 (id ", wantProblem: "chain entry 10",
		},
		{
			name: "freeze deletion who",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE freezes SET deleted_by = 'someone else' WHERE id = ?", f.freezes[0].ID)
			},
			wantRow: "freeze (id ", wantProblem: "chain entry 11",
		},
		{
			name: "first of several",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE events SET detail = 'x' WHERE id = ?", f.events[2].ID)
				execRaw(t, s, "UPDATE freezes SET reason = 'x' WHERE id = ?", f.freezes[0].ID)
			},
			wantRow: "freeze 1 (id ", wantProblem: "chain entry 6",
		},
		{
			name: "decision",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE decisions SET verdict = 'go' WHERE seq = 2")
			},
			wantRow: "decision 2", wantProblem: "row 2: hash does not match its content",
		},
		{
			name: "chain entry removed",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "DELETE FROM audit_chain WHERE seq = 8")
			},
			wantRow: "chain entry 8", wantProblem: "missing; entry 9 follows entry 7",
		},
		{
			name: "chain entry digest",
			edit: func(t *testing.T, s Store, f chainFixture) {
				execRaw(t, s, "UPDATE audit_chain SET digest = ? WHERE seq = 12", strings.Repeat("0", 64))
			},
			wantRow: "chain entry 12", wantProblem: "hash does not match its content",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := nb(t)
			s := b.open(t)
			f := writeChainFixture(t, s)
			if tc.edit != nil {
				b.unprotect(t, rawDB(s))
				tc.edit(t, s, f)
			}
			res := verify(t, s)
			if tc.wantRow == "" {
				want := VerifyResult{Rows: 3, Events: 3, Overrides: 2, Freezes: 2, OK: true, Entries: 13}
				got := res
				got.Head, got.ChainHead = "", ""
				if got != want {
					t.Errorf("verify = %+v, want %+v", res, want)
				}
				return
			}
			if res.OK || !strings.HasPrefix(res.FirstBrokenRow, tc.wantRow) || !strings.Contains(res.FirstBrokenRow+": "+res.Problem, tc.wantProblem) {
				t.Errorf("verify = %+v\nwant first broken row %q…, problem with %q", res, tc.wantRow, tc.wantProblem)
			}
		})
	}
}

// rechain is a forger who can write the database: it recomputes every
// entry's row digest from the rows as they are now and rehashes the whole
// chain, keyed under key when key is set.
func rechain(t *testing.T, s Store, key []byte) {
	t.Helper()
	ss := s.(*sqlStore)
	ctx := t.Context()
	entries, err := queryAll(ctx, ss, "read", "SELECT "+entryColumns+" FROM audit_chain ORDER BY seq", nil, scanEntry)
	if err != nil {
		t.Fatal(err)
	}
	prev := GenesisHash
	for _, e := range entries {
		if e.Kind != kindStart {
			values, err := ss.readRow(ctx, ss.db, e.Kind, e.Ref)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				t.Fatal(err)
			}
			e.Digest = rowDigest(e.Kind, values)
		}
		e.PrevHash, e.Keyed = prev, key != nil
		e.Hash = entryHash(e, key)
		execRaw(t, s, "UPDATE audit_chain SET digest = ?, keyed = ?, prev_hash = ?, hash = ? WHERE seq = ?",
			e.Digest, boolInt(e.Keyed), e.PrevHash, e.Hash, e.Seq)
		prev = e.Hash
	}
}

func (b backend) openKeyed(t *testing.T, key string) (Store, error) {
	t.Helper()
	s, err := Open(t.Context(), b.driver, b.dsn, WithAuditKey([]byte(key)))
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// testAuditKey: without a key, a forger who rehashes the chain after an
// edit goes unseen; with one, every such forgery is found.
func testAuditKey(t *testing.T, nb newBackend) {
	const key = "0123456789abcdef0123456789abcdef"
	forgeEvent := func(t *testing.T, s Store, f chainFixture) {
		execRaw(t, s, "UPDATE events SET type = 'rolled_back' WHERE id = ?", f.events[1].ID)
	}
	t.Run("without a key a full rehash goes unseen", func(t *testing.T) {
		b := nb(t)
		s := b.open(t)
		f := writeChainFixture(t, s)
		forgeEvent(t, s, f)
		rechain(t, s, nil)
		if res := verify(t, s); !res.OK || res.Keyed != 0 {
			t.Errorf("verify = %+v: a plain SHA-256 chain is expected to accept a full rehash", res)
		}
	})
	for _, tc := range []struct {
		name        string
		forgerKey   []byte
		wantProblem string
	}{
		{"rehashed without a key", nil, "chain entry 1: not keyed"},
		{"rehashed under a guessed key", []byte("guess"), "chain entry 1: hash does not match under the audit key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := nb(t)
			s, err := b.openKeyed(t, key)
			if err != nil {
				t.Fatal(err)
			}
			f := writeChainFixture(t, s)
			if res := verify(t, s); !res.OK || res.Keyed != res.Entries || !res.KeyChecked {
				t.Fatalf("intact keyed chain: verify = %+v", res)
			}
			forgeEvent(t, s, f)
			rechain(t, s, tc.forgerKey)
			if res := verify(t, s); res.OK || !strings.Contains(res.FirstBrokenRow+": "+res.Problem, tc.wantProblem) {
				t.Errorf("verify = %+v, want a problem with %q", res, tc.wantProblem)
			}
		})
	}
	t.Run("a key given later rekeys the chain", func(t *testing.T) {
		b := nb(t)
		plain := b.open(t)
		writeChainFixture(t, plain)
		plain.Close()
		s, err := b.openKeyed(t, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AppendDecision(t.Context(), decision(4, "checkout", "p1", "canary", "go")); err != nil {
			t.Fatal(err)
		}
		if res := verify(t, s); !res.OK || res.Entries != 14 || res.Keyed != 14 {
			t.Errorf("verify = %+v, want 14 keyed entries", res)
		}
		// Opened without the key, or with another, the store refuses to
		// write a chain that would stop verifying.
		if _, err := Open(t.Context(), b.driver, b.dsn); err == nil || !strings.Contains(err.Error(), "set store.audit_key_file") {
			t.Errorf("open without the key: %v", err)
		}
		if _, err := b.openKeyed(t, "another key, also 32 characters"); err == nil || !strings.Contains(err.Error(), "does not verify under this key") {
			t.Errorf("open with another key: %v", err)
		}
		// Read without the key, links and rows are still checked.
		ro, err := OpenReadOnly(t.Context(), b.driver, b.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if res := verify(t, ro); !res.OK || res.KeyChecked || res.Keyed != 14 {
			t.Errorf("verify without the key = %+v", res)
		}
	})
}

// testAuditChainMigrate: a store written before the audit chain existed
// gets its rows chained on the first Open that may write; until then
// verify says the chain is missing.
func testAuditChainMigrate(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	writeChainFixture(t, s)
	execRaw(t, s, "DROP TABLE audit_chain") // as an older patchgate left it
	s.Close()

	ro, err := OpenReadOnly(t.Context(), b.driver, b.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if res := verify(t, ro); !res.OK || !res.NoChain || res.Rows != 3 || res.Events != 0 {
		t.Errorf("verify before migration = %+v, want OK decisions and NoChain", res)
	}
	ro.Close()

	s = b.open(t)
	// 1 start + 3 decisions + 3 events + 2 overrides + 2 freezes + 2 deletions.
	if res := verify(t, s); !res.OK || res.NoChain || res.Entries != 13 || res.Events != 3 {
		t.Errorf("verify after migration = %+v", res)
	}
	// Reopening does not chain rows again, so a row written around the
	// store after the migration stays unchained and is found.
	execRaw(t, s, "UPDATE events SET id = 'renamed' WHERE idempotency_key = 'k2'")
	s.Close()
	s = b.open(t)
	if res := verify(t, s); res.OK || !strings.Contains(res.Problem, "not in the audit chain") && !strings.Contains(res.Problem, "gone") {
		t.Errorf("verify after a rename = %+v", res)
	}
}
