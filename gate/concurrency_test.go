package gate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/internal/testenv"
)

// manyServices is a policy of n services that all read the checkout
// series and pass on min_traffic alone, under a limit of max services.
func manyServices(n, maxServices int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "source: {type: embedded}\nconcurrency: {max_services: %d}\nservices:\n", maxServices)
	for i := range n {
		fmt.Fprintf(&b, `  - name: svc-%02d
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 95}
    checks: {min_traffic: {requests: 500}}
    stages: [{name: canary, max_wait: 20m}]
`, i)
	}
	return b.String()
}

// stores opens two stores (two replicas) on one fresh database.
type openStores func(t *testing.T) (store.Store, store.Store)

func sqliteStores(t *testing.T) (store.Store, store.Store) {
	path := t.TempDir() + "/gate.db"
	return openStore(t, "sqlite", path), openStore(t, "sqlite", path)
}

func postgresStores(t *testing.T) (store.Store, store.Store) {
	dsn := testenv.Postgres(t)
	return openStore(t, "postgres", dsn), openStore(t, "postgres", dsn)
}

func openStore(t *testing.T, driver, dsn string) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConcurrencyLimitSQLite(t *testing.T)   { testConcurrencyLimit(t, sqliteStores) }
func TestConcurrencyLimitPostgres(t *testing.T) { testConcurrencyLimit(t, postgresStores) }

// testConcurrencyLimit asks for 50 services at once through two engines
// (two replicas) sharing a store: no more than 3 get a go; the others wait
// with their place in line. When one rollout is deployed, the first in
// line takes its place, and only it.
func testConcurrencyLimit(t *testing.T, open openStores) {
	const (
		services = 50
		limit    = 3
	)
	f := newFixture(t)
	f.write(t, healthy...)
	a, b := open(t)
	cfg, err := config.Parse("policy.yaml", []byte(manyServices(services, limit)))
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t0.Add(10 * time.Minute)}
	var engines []*Engine
	for _, st := range []store.Store{a, b} {
		e, err := New(Config{Policy: cfg, Source: f.src, Store: st, Now: c.now, ControlsTTL: -1})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	askFor := func(i int) Request {
		return Request{Service: fmt.Sprintf("svc-%02d", i), PatchID: "openssl-3.0.15", Stage: "canary",
			Params: map[string]string{ParamStageStartedAt: t0.Format(time.RFC3339)}}
	}

	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[Verdict][]int{}
	)
	for i := range services {
		wg.Go(func() {
			d, err := engines[i%2].Decide(context.Background(), askFor(i))
			if err != nil {
				t.Error(err)
				return
			}
			if d.Decision == Wait {
				cc := checkNamed(d, "concurrency")
				if cc.Verdict != Inconclusive || cc.Details["position"] < 1 || !strings.HasPrefix(d.Reason, "concurrency inconclusive: number ") {
					t.Errorf("svc-%02d waits without a place in line: %s", i, d.Reason)
				}
			}
			mu.Lock()
			got[d.Decision] = append(got[d.Decision], i)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(got[Go]) != limit || len(got[Wait]) != services-limit {
		t.Fatalf("go for %v, wait for %d, other %v; want %d go and %d wait", got[Go], len(got[Wait]), got[NoGo], limit, services-limit)
	}

	// The first rollout to finish frees one slot, for the first in line.
	done := fmt.Sprintf("svc-%02d", got[Go][0])
	c.t = c.t.Add(30 * time.Second)
	if _, _, err := a.AppendEvent(context.Background(), store.Event{PatchID: "openssl-3.0.15", Type: store.EventDeployed,
		Service: done, Time: c.t, IdempotencyKey: "deployed-1"}); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Second)
	var admitted []int
	for _, i := range got[Wait] {
		d, err := engines[i%2].Decide(context.Background(), askFor(i))
		if err != nil {
			t.Fatal(err)
		}
		if d.Decision == Go {
			admitted = append(admitted, i)
		}
	}
	// The waiters first asked at the same instant: the line orders them by name.
	if len(admitted) != 1 || admitted[0] != minOf(got[Wait]) {
		t.Errorf("after %s deployed, go for %v; want only the first in line (svc-%02d)", done, admitted, minOf(got[Wait]))
	}
}

func minOf(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func slot(service, cluster string, hosts int, queued time.Time, granted bool) store.Slot {
	s := store.Slot{SlotKey: store.SlotKey{Service: service, PatchID: "p", Cluster: cluster}, Hosts: hosts, QueuedAt: queued, LastAsk: queued}
	if granted {
		s.GrantedAt = queued
	}
	return s
}

func stageStarted(service, cluster string, hosts int, at time.Time) store.Event {
	return store.Event{PatchID: "p", Type: store.EventStageStarted, Service: service, Cluster: cluster, Hosts: hosts, Time: at}
}

func ended(typ, service, cluster string, at time.Time) store.Event {
	return store.Event{PatchID: "p", Type: typ, Service: service, Cluster: cluster, Time: at}
}

// TestAdmit is the concurrency rule on its own: who is patching, the
// line, and the host share of a cluster.
func TestAdmit(t *testing.T) {
	now := t0.Add(time.Hour)
	cc := &config.Concurrency{QueueTimeout: config.Duration(10 * time.Minute), StaleAfter: config.Duration(24 * time.Hour)}
	eu := limits{maxServices: 2, hostsPercent: 10, clusterHosts: 100}
	for _, tc := range []struct {
		name     string
		own      store.Slot
		others   []store.Slot
		events   []store.Event
		l        limits
		want     CheckVerdict
		position float64
		sentence string
		drop     int
	}{
		{
			name: "a free place is taken", own: slot("a", "", 0, now, false), l: limits{maxServices: 2},
			others: []store.Slot{slot("b", "", 0, now.Add(-time.Minute), true)},
			want:   Pass, sentence: "a may patch: 2 service(s) patching (limit 2)",
		},
		{
			name: "stage_started events count as patching", own: slot("a", "", 0, now, false), l: limits{maxServices: 2},
			events: []store.Event{stageStarted("b", "", 0, now.Add(-time.Hour)), stageStarted("c", "", 0, now.Add(-time.Minute))},
			want:   Inconclusive, position: 1, sentence: "2 service(s) patching, the limit is 2 (b, c)",
		},
		{
			name: "deployed and rolled_back end patching", own: slot("a", "", 0, now, false), l: limits{maxServices: 2},
			events: []store.Event{
				stageStarted("b", "", 0, now.Add(-time.Hour)), stageStarted("c", "", 0, now.Add(-time.Minute)),
				ended(store.EventDeployed, "b", "", now.Add(-30*time.Minute)),
			},
			want: Pass,
		},
		{
			name: "a rollout heard nothing of for stale_after no longer counts", own: slot("a", "", 0, now, false), l: limits{maxServices: 1},
			events: []store.Event{stageStarted("b", "", 0, now.Add(-25*time.Hour))},
			want:   Pass,
		},
		{
			name: "a granted slot ended by an event is dropped", own: slot("a", "", 0, now, false), l: limits{maxServices: 1},
			others: []store.Slot{slot("b", "", 0, now.Add(-time.Hour), true)},
			events: []store.Event{ended(store.EventRolledBack, "b", "", now.Add(-time.Minute))},
			want:   Pass, drop: 1,
		},
		{
			name: "first in line first: an earlier waiter that fits keeps its place", own: slot("a", "", 0, now, false), l: limits{maxServices: 2},
			others: []store.Slot{slot("b", "", 0, now.Add(-time.Hour), true), slot("c", "", 0, now.Add(-time.Minute), false)},
			want:   Inconclusive, position: 2,
		},
		{
			name: "a waiter gone for queue_timeout leaves the line", own: slot("a", "", 0, now, false), l: limits{maxServices: 2},
			others: []store.Slot{slot("b", "", 0, now.Add(-time.Hour), true), slot("c", "", 0, now.Add(-11*time.Minute), false)},
			want:   Pass, drop: 1,
		},
		{
			name: "a rollout already patching passes whatever the line", own: slot("a", "eu", 5, now.Add(-time.Hour), true), l: eu,
			others: []store.Slot{slot("b", "eu", 5, now.Add(-time.Hour), true), slot("c", "eu", 5, now.Add(-time.Minute), false)},
			want:   Pass, sentence: "eu: 10 of 100 hosts patching (limit 10%)",
		},
		{
			name: "the host share of the cluster is a limit", own: slot("a", "eu", 5, now, false), l: eu,
			events: []store.Event{stageStarted("b", "eu", 8, now.Add(-time.Minute))},
			want:   Inconclusive, position: 1, sentence: "eu has 8 of 100 hosts patching; 5 more would pass the 10% limit",
		},
		{
			name: "other clusters' hosts do not count", own: slot("a", "eu", 5, now, false), l: eu,
			events: []store.Event{stageStarted("b", "us", 80, now.Add(-time.Minute))},
			want:   Pass,
		},
		{
			name: "unknown hosts wait, saying what to send", own: slot("a", "eu", 0, now, false), l: eu,
			want: Inconclusive, position: 1, sentence: "send params.hosts or a stage_started event with hosts",
		},
		{
			name: "more hosts than the limit allows in one step is a no_go", own: slot("a", "eu", 20, now, false), l: eu,
			want: Fail, sentence: "patching 20 hosts of eu at once is more than the 10% limit of its 100 hosts allows",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			own, r, drop := admit(tc.own, tc.others, tc.events, tc.l, cc, now)
			if r.Verdict != tc.want || r.Details["position"] != tc.position {
				t.Fatalf("verdict %s position %g (%s), want %s position %g", r.Verdict, r.Details["position"], r.Sentence, tc.want, tc.position)
			}
			if (r.Verdict == Pass) == own.GrantedAt.IsZero() {
				t.Errorf("granted at %v with verdict %s", own.GrantedAt, r.Verdict)
			}
			if !strings.Contains(r.Sentence, tc.sentence) {
				t.Errorf("sentence %q does not say %q", r.Sentence, tc.sentence)
			}
			if len(drop) != tc.drop {
				t.Errorf("dropped %v, want %d", drop, tc.drop)
			}
		})
	}
}

// A place in line is reused for waitingTTL, a grant or refusal for the
// controls' TTL; with the TTL off, nothing is reused.
func TestAdmissionTTL(t *testing.T) {
	for _, tc := range []struct {
		v        CheckVerdict
		controls time.Duration
		want     time.Duration
	}{
		{Inconclusive, DefaultControlsTTL, waitingTTL},
		{Pass, DefaultControlsTTL, DefaultControlsTTL},
		{Fail, DefaultControlsTTL, DefaultControlsTTL},
		{Inconclusive, -1, -1},
		{Inconclusive, time.Minute, time.Minute},
	} {
		if got := admissionTTL(tc.v, tc.controls); got != tc.want {
			t.Errorf("admissionTTL(%s, %s) = %s, want %s", tc.v, tc.controls, got, tc.want)
		}
	}
}
