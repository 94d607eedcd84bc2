package store

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

func testOverrides(t *testing.T, nb newBackend) {
	s := nb(t).open(t)
	ctx := t.Context()
	a, err := s.CreateOverride(ctx, Override{Service: "checkout", Verdict: "go", Reason: "hotfix", Actor: "sre",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateOverride(ctx, Override{Service: "search", PatchID: "p1", Stage: "canary", Verdict: "no_go",
		Reason: "bad", Actor: "sre", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.ID == b.ID || a.Seq == 0 {
		t.Fatalf("ids %q %q seq %d", a.ID, b.ID, a.Seq)
	}
	if _, err := s.CreateOverride(ctx, Override{Service: "x", Verdict: "go", ExpiresAt: t0}); err == nil {
		t.Error("an override without a reason was stored")
	}
	ids := func(f ControlFilter) []string {
		t.Helper()
		os, err := s.ListOverrides(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    ControlFilter
		want []string
	}{
		{"all", ControlFilter{}, []string{a.ID, b.ID}},
		{"in force", ControlFilter{InForceAt: t0.Add(30 * time.Minute)}, []string{a.ID, b.ID}},
		{"one expired", ControlFilter{InForceAt: t0.Add(time.Hour)}, []string{b.ID}},
		{"service", ControlFilter{Service: "search"}, []string{b.ID}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	del, err := s.DeleteOverride(ctx, b.ID, "oncall", "fixed", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if del.DeletedBy != "oncall" || del.DeleteReason != "fixed" || !del.DeletedAt.Equal(t0.Add(time.Minute)) || del.InForce(t0) {
		t.Errorf("deleted = %+v", del)
	}
	again, err := s.DeleteOverride(ctx, b.ID, "someone-else", "", t0.Add(time.Hour))
	if err != nil || again.DeletedBy != "oncall" {
		t.Errorf("second delete = %+v, %v; want the first deletion kept", again, err)
	}
	if got := ids(ControlFilter{InForceAt: t0}); !slices.Equal(got, []string{a.ID}) {
		t.Errorf("in force after delete: %v", got)
	}
	if got := ids(ControlFilter{}); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("all after delete: %v (a deleted override is kept)", got)
	}
	if _, err := s.DeleteOverride(ctx, "nope", "x", "", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete unknown: %v, want ErrNotFound", err)
	}
}

func testFreezes(t *testing.T, nb newBackend) {
	s := nb(t).open(t)
	ctx := t.Context()
	global, err := s.CreateFreeze(ctx, Freeze{StartsAt: t0, EndsAt: t0.Add(time.Hour), Reason: "year end", Actor: "admin", CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := s.CreateFreeze(ctx, Freeze{Service: "checkout", StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(2 * time.Hour), Reason: "db move", Actor: "admin", CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateFreeze(ctx, Freeze{StartsAt: t0, EndsAt: t0, Reason: "empty"}); err == nil {
		t.Error("a freeze ending at its start was stored")
	}
	list := func(f ControlFilter) []string {
		t.Helper()
		fs, err := s.ListFreezes(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	if got := list(ControlFilter{Service: "search"}); !slices.Equal(got, []string{global.ID}) {
		t.Errorf("search's freezes: %v, want the global one", got)
	}
	if got := list(ControlFilter{Service: "checkout", InForceAt: t0.Add(time.Hour)}); !slices.Equal(got, []string{mine.ID}) {
		t.Errorf("checkout's at +1h: %v", got)
	}
	if !global.InForce(t0) || global.InForce(t0.Add(time.Hour)) || mine.InForce(t0) {
		t.Error("InForce is wrong at the edges")
	}
	if _, err := s.DeleteFreeze(ctx, global.ID, "admin", "lifted", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := list(ControlFilter{InForceAt: t0}); !slices.Equal(got, []string{mine.ID}) {
		t.Errorf("in force after delete: %v", got)
	}
	if _, err := s.DeleteFreeze(ctx, "nope", "x", "", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete unknown: %v, want ErrNotFound", err)
	}
}

// testAdmit grants at most limit slots to parallel asks from two stores
// (two replicas): Admit is serialised, so every decide sees the grants
// made before it.
func testAdmit(t *testing.T, nb newBackend) {
	b := nb(t)
	stores := []Store{b.open(t), b.open(t)}
	const (
		asks  = 50
		limit = 3
	)
	decide := func(own Slot, others []Slot, _ []Event) (Slot, []SlotKey) {
		granted := 0
		for _, o := range others {
			if !o.GrantedAt.IsZero() {
				granted++
			}
		}
		if own.GrantedAt.IsZero() && granted < limit {
			own.GrantedAt = own.LastAsk
		}
		return own, nil
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted int
	)
	for i := range asks {
		wg.Go(func() {
			key := SlotKey{Service: "svc-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), PatchID: "p1", Cluster: "eu"}
			sl, err := stores[i%2].Admit(t.Context(), key, 2, t0, t0.Add(-time.Hour), decide)
			if err != nil {
				t.Error(err)
				return
			}
			if !sl.GrantedAt.IsZero() {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != limit {
		t.Errorf("%d asks were granted a slot, want %d", granted, limit)
	}
	slots, err := stores[0].ListSlots(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, sl := range slots {
		if !sl.GrantedAt.IsZero() {
			stored++
		}
		if sl.Hosts != 2 || !sl.QueuedAt.Equal(t0) {
			t.Errorf("slot %+v: want hosts 2 queued at t0", sl)
		}
	}
	if len(slots) != asks || stored != limit {
		t.Errorf("%d slots stored, %d granted; want %d and %d", len(slots), stored, asks, limit)
	}
	// The events since the given time reach decide, and drops are applied.
	if _, _, err := stores[0].AppendEvent(t.Context(), event("k", "p1", EventDeployed, slots[0].Service, t0)); err != nil {
		t.Fatal(err)
	}
	var seen []Event
	_, err = stores[1].Admit(t.Context(), slots[1].SlotKey, 0, t0.Add(time.Minute), t0, func(own Slot, others []Slot, events []Event) (Slot, []SlotKey) {
		seen = events
		return own, []SlotKey{slots[0].SlotKey}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].Type != EventDeployed {
		t.Errorf("decide saw events %+v, want the deployed one", seen)
	}
	after, err := stores[0].ListSlots(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != asks-1 {
		t.Errorf("%d slots after dropping one, want %d", len(after), asks-1)
	}
}
