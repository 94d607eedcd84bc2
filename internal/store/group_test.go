package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// holdWrites takes s's writer slot, as a commit in progress would, and
// returns a function that waits until n writes are queued and then lets
// the slot go: the next writer then commits all n in one group.
func holdWrites(t *testing.T, s Store, g func(*sqlStore) *group, n int) (release func()) {
	t.Helper()
	gr := g(s.(*sqlStore))
	gr.slot <- struct{}{}
	return func() {
		deadline := time.Now().Add(30 * time.Second)
		for {
			gr.mu.Lock()
			queued := len(gr.pending)
			gr.mu.Unlock()
			if queued >= n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d writes queued after 30 s, want %d", queued, n)
			}
			time.Sleep(time.Millisecond)
		}
		<-gr.slot
	}
}

func writesOf(s *sqlStore) *group { return s.writes }
func admitsOf(s *sqlStore) *group { return s.admits }

// testGroupCommit: writes queued while a commit runs are committed
// together, one transaction for all; each gets its own answer, and one
// bad write (an id taken) fails alone.
func testGroupCommit(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	appendN(t, s, 1) // d-0001 exists
	const n = 20
	release := holdWrites(t, s, writesOf, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	got := make([]Decision, n)
	for i := range n {
		wg.Go(func() {
			d := decision(i+2, "checkout", "p1", "canary", "go")
			if i == 7 {
				d = decision(1, "checkout", "p1", "canary", "go") // taken
			}
			got[i], errs[i] = s.AppendDecision(t.Context(), d)
		})
	}
	release()
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 7) {
			t.Errorf("append %d: error %v (want one only for the taken id, append 7)", i, err)
		}
	}
	groups, ops := s.(*sqlStore).writes.stats()
	// The first appendN write, then the group of 20 that failed for one,
	// then each of the 20 alone.
	if groups != 1+1+n || ops != 1+n+n {
		t.Errorf("%d groups of %d writes in all, want %d of %d", groups, ops, 1+1+n, 1+n+n)
	}
	res := verify(t, s)
	if !res.OK || res.Rows != n {
		t.Errorf("verify = %+v, want OK with %d rows", res, n)
	}

	// Without a bad write: one group, one commit, every write answered.
	release = holdWrites(t, s, writesOf, n)
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = s.AppendDecision(t.Context(), decision(100+i, "checkout", "p1", "canary", "go"))
		})
	}
	release()
	wg.Wait()
	seqs := map[int64]bool{}
	for i, err := range errs {
		if err != nil {
			t.Errorf("append %d: %v", i, err)
		}
		seqs[got[i].Seq] = true
	}
	if g, o := s.(*sqlStore).writes.stats(); g != groups+1 || o != ops+n {
		t.Errorf("second round: %d groups of %d writes, want 1 of %d", g-groups, o-ops, n)
	}
	if len(seqs) != n {
		t.Errorf("%d distinct seqs for %d appends", len(seqs), n)
	}
	if res := verify(t, s); !res.OK || res.Rows != 2*n {
		t.Errorf("verify = %+v, want OK with %d rows", res, 2*n)
	}
}

// testGroupWithdraw: a write whose context ends while it waits in line is
// withdrawn, never committed.
func testGroupWithdraw(t *testing.T, nb newBackend) {
	s := nb(t).open(t)
	gr := s.(*sqlStore).writes
	gr.slot <- struct{}{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := s.AppendDecision(ctx, decision(1, "checkout", "p1", "canary", "go"))
		done <- err
	}()
	for {
		gr.mu.Lock()
		queued := len(gr.pending)
		gr.mu.Unlock()
		if queued == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("a cancelled append waiting in line succeeded")
	}
	<-gr.slot
	if _, err := s.GetDecision(t.Context(), "d-0001"); err == nil {
		t.Error("the withdrawn decision was stored")
	}
}

// testLookKey: two replicas recording a decision for the same look get
// one decision: the first recorded; the second records nothing.
func testLookKey(t *testing.T, nb newBackend) {
	b := nb(t)
	stores := []Store{b.open(t), b.open(t)}
	first := decision(1, "checkout", "p1", "canary", "go")
	first.LookKey = "look-a"
	d1, err := stores[0].AppendDecision(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	second := decision(2, "checkout", "p1", "canary", "no_go")
	second.LookKey = "look-a"
	d2, err := stores[1].AppendDecision(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	if d2.ID != d1.ID || d2.Verdict != "go" || string(d2.Body) != string(d1.Body) || d2.Seq != 1 {
		t.Errorf("second decision for the look = %s %s seq %d, want the first: %s go seq 1", d2.ID, d2.Verdict, d2.Seq, d1.ID)
	}
	if _, err := stores[0].GetDecision(t.Context(), second.ID); err == nil {
		t.Errorf("the second decision %s was stored too", second.ID)
	}

	// Many replicas' asks at once, a few looks: one decision per look.
	const looks, asks = 5, 40
	ids := make([]string, asks)
	errs := make([]error, asks)
	var wg sync.WaitGroup
	for i := range asks {
		wg.Go(func() {
			d := decision(1000+i, "checkout", "p1", "canary", "wait")
			d.LookKey = fmt.Sprintf("look-%d", i%looks)
			var got Decision
			got, errs[i] = stores[i%2].AppendDecision(t.Context(), d)
			ids[i] = got.ID
		})
	}
	wg.Wait()
	perLook := map[string]map[string]bool{}
	for i := range asks {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		k := fmt.Sprintf("look-%d", i%looks)
		if perLook[k] == nil {
			perLook[k] = map[string]bool{}
		}
		perLook[k][ids[i]] = true
	}
	for k, set := range perLook {
		if len(set) != 1 {
			t.Errorf("%s: %d decision ids, want 1", k, len(set))
		}
	}
	if res := verify(t, stores[0]); !res.OK || res.Rows != 1+looks {
		t.Errorf("verify = %+v, want OK with %d rows", res, 1+looks)
	}
}

// testAdmitGroup: admissions queued together share a transaction, each
// seeing the slots the ones before it wrote: with one free place, exactly
// one of many concurrent first asks is granted it.
func testAdmitGroup(t *testing.T, nb newBackend) {
	b := nb(t)
	s := b.open(t)
	const n = 12
	release := holdWrites(t, s, admitsOf, n)
	grantOne := func(own Slot, others []Slot, _ []Event) (Slot, []SlotKey) {
		for _, o := range others {
			if !o.GrantedAt.IsZero() {
				return own, nil
			}
		}
		own.GrantedAt = own.LastAsk
		return own, nil
	}
	var wg sync.WaitGroup
	slots := make([]Slot, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			key := SlotKey{Service: fmt.Sprintf("svc-%02d", i), PatchID: "p1"}
			slots[i], errs[i] = s.Admit(t.Context(), key, 1, t0, t0.Add(-time.Hour), grantOne)
		})
	}
	release()
	wg.Wait()
	granted := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !slots[i].GrantedAt.IsZero() {
			granted++
		}
	}
	if granted != 1 {
		t.Errorf("%d of %d concurrent asks granted the one place, want 1", granted, n)
	}
	if g, o := s.(*sqlStore).admits.stats(); g != 1 || o != n {
		t.Errorf("%d groups of %d admissions, want 1 of %d", g, o, n)
	}
	stored, err := s.ListSlots(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != n {
		t.Errorf("%d slots stored, want %d", len(stored), n)
	}
}

// stats returns how many groups committed and how many writes they held.
func (g *group) stats() (groups, ops int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.groups, g.ops
}
