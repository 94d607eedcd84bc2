package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// backend is one fresh, empty database of one kind.
type backend struct {
	driver, dsn string
	// unprotect drops the append-only triggers the way someone with
	// direct access to the database could, so a test can edit rows.
	unprotect func(t *testing.T, db *sql.DB)
	// reject lists statements the append-only triggers must refuse.
	reject []string
}

// newBackend returns a fresh, empty database.
type newBackend func(t *testing.T) backend

// testStore runs the shared suite; each test gets fresh databases from nb.
func testStore(t *testing.T, nb newBackend) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, nb newBackend)
	}{
		{"RoundTrip", testRoundTrip},
		{"List", testList},
		{"NotFound", testNotFound},
		{"DuplicateID", testDuplicateID},
		{"Chain", testChain},
		{"ConcurrentAppends", testConcurrentAppends},
		{"ConnectionReuse", testConnectionReuse},
		{"GroupCommit", testGroupCommit},
		{"GroupWithdraw", testGroupWithdraw},
		{"LookKey", testLookKey},
		{"AdmitGroup", testAdmitGroup},
		{"Tamper", testTamper},
		{"DeleteRow", testDeleteRow},
		{"AppendOnly", testAppendOnly},
		{"Reopen", testReopen},
		{"ConcurrentOpen", testConcurrentOpen},
		{"EnsureAttempt", testEnsureAttempt},
		{"SetOutcome", testSetOutcome},
		{"EventRoundTrip", testEventRoundTrip},
		{"EventIdempotency", testEventIdempotency},
		{"EventDuplicateAcrossStores", testEventDuplicateAcrossStores},
		{"EventList", testEventList},
		{"Overrides", testOverrides},
		{"Freezes", testFreezes},
		{"Admit", testAdmit},
		{"ReadOnly", testReadOnly},
		{"AuditChain", testAuditChain},
		{"AuditKey", testAuditKey},
		{"AuditChainMigrate", testAuditChainMigrate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, nb)
		})
	}
}

// open opens a new Store on b's database; each call is a separate store,
// as another replica or process would have. It is closed when the test ends.
func (b backend) open(t *testing.T) Store {
	t.Helper()
	s, err := Open(t.Context(), b.driver, b.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func rawDB(s Store) *sql.DB { return s.(*sqlStore).db }

// execRaw runs a statement with ? placeholders directly on the database.
func execRaw(t *testing.T, s Store, q string, args ...any) {
	t.Helper()
	if _, err := rawDB(s).ExecContext(t.Context(), s.(*sqlStore).dialect.rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))

func decision(i int, service, patch, stage, verdict string) Decision {
	return Decision{
		ID:          fmt.Sprintf("d-%04d", i),
		Service:     service,
		PatchID:     patch,
		Stage:       stage,
		Attempt:     "a1",
		Verdict:     verdict,
		EvaluatedAt: t0.Add(time.Duration(i)*time.Minute + time.Duration(i)),
		Body:        fmt.Appendf(nil, `{"decision_id":"d-%04d","decision":%q}`, i, verdict),
	}
}

func appendN(t *testing.T, s Store, n int) []Decision {
	t.Helper()
	var ds []Decision
	for i := 1; i <= n; i++ {
		d, err := s.AppendDecision(t.Context(), decision(i, "checkout", "p1", "canary", "go"))
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	return ds
}

func verify(t *testing.T, s Store) VerifyResult {
	t.Helper()
	res, err := s.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func testRoundTrip(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	for i, in := range []Decision{
		decision(1, "checkout", "p1", "canary", "go"),
		{ID: "empty-body", Service: "s", PatchID: "p", Stage: "st", Verdict: "wait", EvaluatedAt: t0},
		{ID: "binary", Service: "s", PatchID: "p", Stage: "st", Verdict: "no_go", EvaluatedAt: t0, Body: []byte{0, 1, 2, 0xff}},
	} {
		got, err := s.AppendDecision(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != int64(i+1) {
			t.Errorf("%s: seq = %d, want %d", in.ID, got.Seq, i+1)
		}
		if !got.EvaluatedAt.Equal(in.EvaluatedAt) || got.EvaluatedAt.Location() != time.UTC {
			t.Errorf("%s: evaluated_at = %v, want %v in UTC", in.ID, got.EvaluatedAt, in.EvaluatedAt)
		}
		if got.Hash != decisionHash(got) || len(got.Hash) != 64 {
			t.Errorf("%s: hash %q is not the hash of the row", in.ID, got.Hash)
		}
		stored, err := s.GetDecision(t.Context(), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stored, got) {
			t.Errorf("%s: stored\n%+v\nappended\n%+v", in.ID, stored, got)
		}
	}
}

func testList(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	for i, d := range []Decision{
		decision(1, "checkout", "p1", "canary", "go"),
		decision(2, "checkout", "p1", "fleet", "wait"),
		decision(3, "checkout", "p2", "canary", "no_go"),
		decision(4, "search", "p1", "canary", "go"),
		decision(5, "checkout", "p1", "fleet", "go"),
	} {
		if _, err := s.AppendDecision(t.Context(), d); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all newest first", Filter{}, []int64{5, 4, 3, 2, 1}},
		{"service", Filter{Service: "checkout"}, []int64{5, 3, 2, 1}},
		{"service and patch", Filter{Service: "checkout", PatchID: "p1"}, []int64{5, 2, 1}},
		{"patch", Filter{PatchID: "p1"}, []int64{5, 4, 2, 1}},
		{"stage", Filter{Stage: "canary"}, []int64{4, 3, 1}},
		{"all three", Filter{Service: "checkout", PatchID: "p1", Stage: "fleet"}, []int64{5, 2}},
		{"limit", Filter{Service: "checkout", Limit: 2}, []int64{5, 3}},
		{"no match", Filter{Service: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := s.ListDecisions(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, d := range ds {
				got = append(got, d.Seq)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("seqs = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{-1, DefaultLimit},
		{0, DefaultLimit},
		{1, 1},
		{MaxLimit, MaxLimit},
		{MaxLimit + 1, MaxLimit},
	} {
		if got := limit(tc.in); got != tc.want {
			t.Errorf("limit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func testNotFound(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	appendN(t, s, 1)
	_, err := s.GetDecision(t.Context(), "unknown")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("GetDecision(unknown) error = %v, want ErrNotFound", err)
	}
	_, err = s.SetOutcome(t.Context(), AttemptKey{"s", "p", "st", "a"}, "go", 1)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("SetOutcome(unknown) error = %v, want ErrNotFound", err)
	}
}

func testDuplicateID(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	appendN(t, s, 2)
	if _, err := s.AppendDecision(t.Context(), decision(1, "x", "y", "z", "go")); err == nil {
		t.Error("appending an existing id succeeded")
	}
	if _, err := s.AppendDecision(t.Context(), Decision{}); err == nil {
		t.Error("appending an empty id succeeded")
	}
	d, err := s.AppendDecision(t.Context(), decision(3, "x", "y", "z", "go"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Seq != 3 {
		t.Errorf("seq after failed appends = %d, want 3", d.Seq)
	}
	if res := verify(t, s); !res.OK || res.Rows != 3 {
		t.Errorf("verify = %+v", res)
	}
}

func testChain(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	if res := verify(t, s); !res.OK || res.Rows != 0 || res.Head != GenesisHash {
		t.Errorf("verify empty log = %+v", res)
	}
	ds := appendN(t, s, 100)
	prev := GenesisHash
	for i, d := range ds {
		if d.Seq != int64(i+1) || d.PrevHash != prev {
			t.Fatalf("row %d: seq %d prev_hash %s, want seq %d prev_hash %s", i+1, d.Seq, d.PrevHash, i+1, prev)
		}
		prev = d.Hash
	}
	res := verify(t, s)
	want := VerifyResult{Rows: 100, OK: true, Head: ds[99].Hash, Entries: 101, ChainHead: res.ChainHead}
	if res != want || len(res.ChainHead) != 64 {
		t.Errorf("verify = %+v, want %+v", res, want)
	}
	// A head noted earlier is found again by its hash.
	d, err := s.DecisionByHash(t.Context(), ds[41].Hash)
	if err != nil || d.Seq != 42 || d.ID != ds[41].ID {
		t.Errorf("DecisionByHash(row 42's hash) = seq %d id %q, %v; want row 42", d.Seq, d.ID, err)
	}
	if _, err := s.DecisionByHash(t.Context(), strings.Repeat("f", 64)); !errors.Is(err, ErrNotFound) {
		t.Errorf("DecisionByHash(unknown) error = %v, want ErrNotFound", err)
	}
}

func testConcurrentAppends(t *testing.T, nb newBackend) {
	b := nb(t)
	// Two stores on one database: two processes or replicas.
	stores := []Store{b.open(t), b.open(t)}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			s := stores[w%len(stores)]
			for i := range each {
				d := decision(w*each+i, fmt.Sprintf("svc-%d", w), "p1", "canary", "go")
				if _, err := s.AppendDecision(t.Context(), d); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res := verify(t, stores[1])
	if !res.OK || res.Rows != workers*each {
		t.Fatalf("verify = %+v, want OK with %d rows", res, workers*each)
	}
	ds, err := stores[0].ListDecisions(t.Context(), Filter{Limit: MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, d := range ds {
		if seen[d.Seq] {
			t.Errorf("seq %d appears twice", d.Seq)
		}
		seen[d.Seq] = true
	}
	if len(ds) != workers*each {
		t.Errorf("listed %d decisions, want %d", len(ds), workers*each)
	}
}

// testConnectionReuse asks like a crowd of rollout tools at a minute's
// turn: 64 callers each reading attempts and writing decisions. Every
// connection the store opened must still be open afterwards, none closed
// for being one idle too many (each reopening costs PostgreSQL a backend
// process and a SCRAM handshake), and the store never holds more than
// its pool.
func testConnectionReuse(t *testing.T, nb newBackend) {
	s := nb(t).open(t)
	db := rawDB(s)
	const callers, each = 64, 5
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				a := Attempt{AttemptKey: AttemptKey{Service: "svc", PatchID: fmt.Sprintf("p-%d-%d", c, i), Stage: "canary", Attempt: "1"}, StartSource: "first_ask"}
				if _, err := s.EnsureAttempt(t.Context(), a); err != nil {
					errs <- err
				}
				if _, err := s.AppendDecision(t.Context(), decision(c*each+i, "svc", a.PatchID, "canary", "go")); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := db.Stats()
	if st.MaxIdleClosed > 0 || st.MaxLifetimeClosed > 0 {
		t.Errorf("%d connection(s) closed for want of an idle slot and %d for age while %d callers asked: each ask paid for a new connection (stats %+v)",
			st.MaxIdleClosed, st.MaxLifetimeClosed, callers, st)
	}
	if st.MaxOpenConnections == 0 || st.OpenConnections > st.MaxOpenConnections {
		t.Errorf("open connections %d, pool limit %d: the store must bound its connections (PostgreSQL refuses past max_connections)", st.OpenConnections, st.MaxOpenConnections)
	}
}

// testTamper edits rows behind the store's back: b.unprotect drops the
// append-only triggers first, as anyone owning the database could.
func testTamper(t *testing.T, nb newBackend) {
	for _, tc := range []struct {
		name string
		// edit changes row 5 of 10.
		edit        func(t *testing.T, s Store, row Decision)
		broken      int64
		wantProblem string
	}{
		{
			name: "body",
			edit: func(t *testing.T, s Store, _ Decision) {
				execRaw(t, s, "UPDATE decisions SET body = ? WHERE seq = 5", []byte(`{"decision":"go"}`))
			},
			broken:      5,
			wantProblem: "row 5: hash does not match its content",
		},
		{
			name: "verdict",
			edit: func(t *testing.T, s Store, _ Decision) {
				execRaw(t, s, "UPDATE decisions SET verdict = 'no_go' WHERE seq = 5")
			},
			broken:      5,
			wantProblem: "row 5: hash does not match its content",
		},
		{
			name: "evaluated_at",
			edit: func(t *testing.T, s Store, row Decision) {
				execRaw(t, s, "UPDATE decisions SET evaluated_at = ? WHERE seq = 5", formatTime(row.EvaluatedAt.Add(time.Nanosecond)))
			},
			broken:      5,
			wantProblem: "row 5: hash does not match its content",
		},
		{
			name: "evaluated_at garbage",
			edit: func(t *testing.T, s Store, _ Decision) {
				execRaw(t, s, "UPDATE decisions SET evaluated_at = 'yesterday' WHERE seq = 5")
			},
			broken:      5,
			wantProblem: `row 5: evaluated_at "yesterday" is not a time`,
		},
		{
			name: "hash",
			edit: func(t *testing.T, s Store, _ Decision) {
				execRaw(t, s, "UPDATE decisions SET hash = ? WHERE seq = 5", strings.Repeat("a", 64))
			},
			broken:      5,
			wantProblem: "row 5: hash does not match its content",
		},
		{
			// A careful forger recomputes the row's hash: the next row's
			// link gives it away.
			name: "rehashed",
			edit: func(t *testing.T, s Store, row Decision) {
				row.Verdict = "no_go"
				row.Body = []byte(`{"decision":"no_go"}`)
				execRaw(t, s, "UPDATE decisions SET verdict = ?, body = ?, hash = ? WHERE seq = 5", row.Verdict, row.Body, decisionHash(row))
			},
			broken:      6,
			wantProblem: "row 6: prev_hash does not match row 5",
		},
		{
			name: "first row rehashed from another genesis",
			edit: func(t *testing.T, s Store, _ Decision) {
				ds, err := s.ListDecisions(t.Context(), Filter{Limit: MaxLimit})
				if err != nil {
					t.Fatal(err)
				}
				first := ds[len(ds)-1]
				first.PrevHash = strings.Repeat("1", 64)
				execRaw(t, s, "UPDATE decisions SET prev_hash = ?, hash = ? WHERE seq = 1", first.PrevHash, decisionHash(first))
			},
			broken:      1,
			wantProblem: "row 1: prev_hash is not the genesis hash",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := nb(t)
			s := b.open(t)
			ds := appendN(t, s, 10)
			b.unprotect(t, rawDB(s))
			tc.edit(t, s, ds[4])
			res := verify(t, s)
			if res.OK || res.FirstBroken != tc.broken || res.Problem != tc.wantProblem || res.Rows != 10 {
				t.Errorf("verify = %+v, want row %d broken: %q", res, tc.broken, tc.wantProblem)
			}
		})
	}
}

func testDeleteRow(t *testing.T, nb newBackend) {
	for _, tc := range []struct {
		name        string
		where       string
		broken      int64
		wantProblem string
		wantOK      bool
	}{
		{"middle", "seq = 5", 5, "row 5: missing; row 6 follows row 4", false},
		{"several", "seq IN (4, 5, 6)", 4, "row 4: missing; row 7 follows row 3", false},
		{"first", "seq = 1", 1, "row 1: missing; the log starts at row 2", false},
		// The end of the decisions' own chain cannot be checked from
		// inside it; the audit chain still names the row.
		{"last", "seq = 10", 0, "the row is gone from decisions (chain entry 11)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := nb(t)
			s := b.open(t)
			ds := appendN(t, s, 10)
			b.unprotect(t, rawDB(s))
			execRaw(t, s, "DELETE FROM decisions WHERE "+tc.where)
			res := verify(t, s)
			if res.OK != tc.wantOK || res.FirstBroken != tc.broken || res.Problem != tc.wantProblem {
				t.Errorf("verify = %+v, want row %d broken: %q", res, tc.broken, tc.wantProblem)
			}
			if tc.name == "last" && res.Head != ds[8].Hash {
				t.Errorf("head = %s, want row 9's hash %s", res.Head, ds[8].Hash)
			}
		})
	}
}

func testAppendOnly(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	appendN(t, s, 3)
	for _, q := range append([]string{
		"UPDATE decisions SET verdict = 'no_go' WHERE seq = 2",
		"UPDATE decisions SET body = body",
		"DELETE FROM decisions WHERE seq = 2",
		"DELETE FROM decisions",
	}, b.reject...) {
		_, err := rawDB(s).ExecContext(t.Context(), q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error = %v, want append-only rejection", q, err)
		}
	}
	if res := verify(t, s); !res.OK || res.Rows != 3 {
		t.Errorf("verify = %+v, want OK with 3 rows", res)
	}
}

func testReopen(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	ds := appendN(t, s, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = b.open(t) // runs the migrations again on an existing schema
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	d, err := s.AppendDecision(t.Context(), decision(4, "checkout", "p1", "canary", "go"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Seq != 4 || d.PrevHash != ds[2].Hash {
		t.Errorf("append after reopen: seq %d prev_hash %s, want 4 and %s", d.Seq, d.PrevHash, ds[2].Hash)
	}
	if res := verify(t, s); !res.OK || res.Rows != 4 {
		t.Errorf("verify = %+v", res)
	}
}

// testConcurrentOpen starts several replicas at once on an empty database:
// their migrations must take turns.
func testConcurrentOpen(t *testing.T, nb newBackend) {
	b := nb(t)
	const n = 4
	stores := make([]Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), b.driver, b.dsn) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("open %d: %v", i, errs[i])
			continue
		}
		defer stores[i].Close()
		if _, err := stores[i].AppendDecision(t.Context(), decision(i, "s", "p", "st", "go")); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		return
	}
	if res := verify(t, stores[0]); !res.OK || res.Rows != n {
		t.Errorf("verify = %+v, want OK with %d rows", res, n)
	}
}

func testEnsureAttempt(t *testing.T, nb newBackend) {
	b := nb(t)
	stores := []Store{b.open(t), b.open(t)}
	key := AttemptKey{Service: "checkout", PatchID: "p1", Stage: "canary", Attempt: "abc123"}
	first := Attempt{AttemptKey: key, Start: t0, StartSource: "request", FirstAsk: t0.Add(time.Second)}

	got, err := stores[0].EnsureAttempt(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	want := first
	want.Start, want.FirstAsk = first.Start.UTC(), first.FirstAsk.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("first EnsureAttempt = %+v, want %+v", got, want)
	}

	// Later writers, from any replica and in any number, get the first.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			later := Attempt{AttemptKey: key, Start: t0.Add(time.Hour), StartSource: "first_ask", FirstAsk: t0.Add(time.Hour), Outcome: "go", OutcomeLook: 9}
			got, err := stores[i%2].EnsureAttempt(t.Context(), later)
			if err != nil {
				t.Error(err)
				return
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("later EnsureAttempt = %+v, want %+v", got, want)
			}
		})
	}
	wg.Wait()

	// Another attempt of the same stage is separate.
	other := first
	other.Attempt = "def456"
	other.Start = time.Time{}
	other.StartSource = "first_ask"
	got, err = stores[1].EnsureAttempt(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempt != "def456" || !got.Start.IsZero() || got.StartSource != "first_ask" {
		t.Errorf("other attempt = %+v", got)
	}
}

func testSetOutcome(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	key := AttemptKey{Service: "checkout", PatchID: "p1", Stage: "canary", Attempt: "a1"}
	if _, err := s.EnsureAttempt(t.Context(), Attempt{AttemptKey: key, Start: t0, StartSource: "event", FirstAsk: t0}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		outcome     string
		look        int
		wantOutcome string
		wantLook    int
		wantErr     bool
	}{
		{outcome: "", look: 1, wantErr: true},
		{outcome: "no_go", look: 3, wantOutcome: "no_go", wantLook: 3},
		{outcome: "go", look: 5, wantOutcome: "no_go", wantLook: 3},
		{outcome: "no_go", look: 7, wantOutcome: "no_go", wantLook: 3},
	} {
		got, err := s.SetOutcome(t.Context(), key, tc.outcome, tc.look)
		if tc.wantErr {
			if err == nil {
				t.Errorf("SetOutcome(%q, %d) succeeded, want error", tc.outcome, tc.look)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if got.Outcome != tc.wantOutcome || got.OutcomeLook != tc.wantLook || got.StartSource != "event" || !got.Start.Equal(t0) {
			t.Errorf("SetOutcome(%q, %d) = %+v, want outcome %q at look %d", tc.outcome, tc.look, got, tc.wantOutcome, tc.wantLook)
		}
	}
	// EnsureAttempt afterwards returns the outcome too.
	got, err := s.EnsureAttempt(t.Context(), Attempt{AttemptKey: key, Start: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != "no_go" || got.OutcomeLook != 3 {
		t.Errorf("EnsureAttempt after outcome = %+v", got)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ driver, dsn string }{
		{"sqlite", ""},
		{"mysql", "x"},
	} {
		if s, err := Open(context.Background(), tc.driver, tc.dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q, %q) succeeded", tc.driver, tc.dsn)
		}
	}
}

// testReadOnly: OpenReadOnly creates nothing, verifies what is there, and
// can write nothing (its Ping, the readiness probe, fails as a standby's
// or a full disk's would).
func testReadOnly(t *testing.T, nb newBackend) {
	b := nb(t)
	if s, err := OpenReadOnly(t.Context(), b.driver, b.dsn); err == nil {
		s.Close()
		t.Fatal("OpenReadOnly of an empty database succeeded")
	} else if !strings.Contains(err.Error(), "does not exist") && !strings.Contains(err.Error(), "no decisions table") {
		t.Fatalf("OpenReadOnly of an empty database: %v", err)
	}
	w := b.open(t)
	appendN(t, w, 3)
	if err := w.Ping(t.Context()); err != nil {
		t.Fatalf("Ping of the writable store: %v", err)
	}
	r, err := OpenReadOnly(t.Context(), b.driver, b.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.Verify(t.Context())
	if err != nil || !res.OK || res.Rows != 3 {
		t.Fatalf("Verify read-only = %+v, %v; want OK with 3 rows", res, err)
	}
	if err := r.Ping(t.Context()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping of the read-only store = %v, want ErrUnavailable", err)
	}
	if _, err := r.AppendDecision(t.Context(), decision(4, "checkout", "p1", "canary", "go")); err == nil {
		t.Error("the read-only store appended a decision")
	}
	if res, err := w.Verify(t.Context()); err != nil || res.Rows != 3 {
		t.Errorf("after the read-only store: %+v %v, want 3 rows", res, err)
	}
}
