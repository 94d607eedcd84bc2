package store

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func event(key, patch, typ, service string, at time.Time) Event {
	return Event{
		PatchID: patch, Type: typ, Time: at, Service: service, Cluster: "eu-1", Stage: "canary",
		Severity: "high", Attempt: "1", Hosts: 3, Detail: "d", IdempotencyKey: key, Actor: "ci",
	}
}

func testEventRoundTrip(t *testing.T, nb newBackend) {
	s := nb(t).open(t)
	in := event("k1", "p1", EventStageStarted, "checkout", t0)
	in.Labels = map[string]string{"pipeline": "42", "quote": `"x"`}
	got, created, err := s.AppendEvent(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !created || got.Seq == 0 || got.ID == "" || got.ReceivedAt.IsZero() {
		t.Fatalf("append = %+v created %v, want created with seq, id and received_at", got, created)
	}
	if !got.Time.Equal(t0) || got.Time.Location() != time.UTC {
		t.Errorf("time = %v, want %v in UTC", got.Time, t0)
	}
	list, err := s.ListEvents(t.Context(), EventFilter{PatchID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !reflect.DeepEqual(list[0], got) {
		t.Errorf("listed\n%+v\nappended\n%+v", list, got)
	}
	for _, bad := range []Event{
		{Type: EventDeployed, IdempotencyKey: "k"},
		{PatchID: "p", Type: EventDeployed},
		{PatchID: "p", IdempotencyKey: "k"},
	} {
		if _, _, err := s.AppendEvent(t.Context(), bad); err == nil {
			t.Errorf("AppendEvent(%+v) succeeded, want an error", bad)
		}
	}
}

func testEventIdempotency(t *testing.T, nb newBackend) {
	s := nb(t).open(t)
	first, created, err := s.AppendEvent(t.Context(), event("k1", "p1", EventDeployed, "checkout", t0))
	if err != nil || !created {
		t.Fatalf("first append: created %v, err %v", created, err)
	}
	// The same key again, even with another body, answers the first event.
	again := event("k1", "p1", EventRolledBack, "search", t0.Add(time.Hour))
	second, created, err := s.AppendEvent(t.Context(), again)
	if err != nil {
		t.Fatal(err)
	}
	if created || !reflect.DeepEqual(second, first) {
		t.Errorf("second append: created %v, event\n%+v\nwant the first\n%+v", created, second, first)
	}
	// The key is per patch.
	other, created, err := s.AppendEvent(t.Context(), event("k1", "p2", EventDeployed, "checkout", t0))
	if err != nil || !created || other.Seq == first.Seq {
		t.Errorf("same key on another patch: created %v, seq %d, err %v; want a new event", created, other.Seq, err)
	}
	list, err := s.ListEvents(t.Context(), EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Errorf("%d events stored, want 2", len(list))
	}
}

// testEventDuplicateAcrossStores posts one key from two stores (two
// replicas) at once: exactly one append creates the event.
func testEventDuplicateAcrossStores(t *testing.T, nb newBackend) {
	b := nb(t)
	stores := []Store{b.open(t), b.open(t)}
	const perStore = 10
	var (
		wg      sync.WaitGroup
		created atomic.Int32
		mu      sync.Mutex
		seqs    = map[int64]bool{}
	)
	for i, s := range stores {
		for j := range perStore {
			wg.Go(func() {
				e := event("retry-1", "p1", EventStageStarted, "checkout", t0)
				e.Detail = fmt.Sprintf("replica %d try %d", i, j)
				got, ok, err := s.AppendEvent(t.Context(), e)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					created.Add(1)
				}
				mu.Lock()
				seqs[got.Seq] = true
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if created.Load() != 1 || len(seqs) != 1 {
		t.Errorf("%d appends created an event and %d distinct events were answered, want 1 and 1", created.Load(), len(seqs))
	}
}

func testEventList(t *testing.T, nb newBackend) {
	s := nb(t).open(t)
	in := []Event{
		event("a", "p1", EventDiscovered, "", t0),
		event("b", "p1", EventStageStarted, "checkout", t0.Add(2*time.Minute)),
		event("c", "p1", EventStageStarted, "search", t0.Add(time.Minute)),
		event("d", "p2", EventDeployed, "checkout", t0.Add(3*time.Minute)),
	}
	in[2].Cluster = "us-1"
	for _, e := range in {
		if _, _, err := s.AppendEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		f    EventFilter
		want []string
	}{
		{"all, by time", EventFilter{}, []string{"a", "c", "b", "d"}},
		{"patch", EventFilter{PatchID: "p1"}, []string{"a", "c", "b"}},
		{"service", EventFilter{Service: "checkout"}, []string{"b", "d"}},
		{"cluster", EventFilter{Cluster: "us-1"}, []string{"c"}},
		{"type", EventFilter{Type: EventStageStarted}, []string{"c", "b"}},
		{"since inclusive, until exclusive", EventFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []string{"c", "b"}},
		{"limit", EventFilter{Limit: 2}, []string{"a", "c"}},
		{"no match", EventFilter{Service: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := s.ListEvents(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.IdempotencyKey)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("keys = %v, want %v", got, tc.want)
			}
		})
	}
}
