package lifecycle

import (
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

func ev(typ, service, cluster string, h float64) store.Event {
	return store.Event{PatchID: "openssl", Type: typ, Service: service, Cluster: cluster, Time: at(h)}
}

func dec(verdict string, h float64) store.Decision {
	return store.Decision{Service: "checkout", PatchID: "openssl", Stage: "canary", Verdict: verdict, EvaluatedAt: at(h)}
}

// numbered gives events their store order.
func numbered(es ...store.Event) []store.Event {
	for i := range es {
		es[i].Seq = int64(i + 1)
	}
	return es
}

func TestRolledBackAt(t *testing.T) {
	s := Compute(timeline(), nil, ComputeConfig{Now: now, ActiveFor: 30 * time.Minute})
	// openssl in eu-west-1 was rolled back at 40.75h, then deployed: no
	// longer rolled back. Nothing else was rolled back.
	if v, ok := s.Value(RolledBackAt, "checkout", "eu-west-1", "openssl"); ok {
		t.Errorf("a rollout deployed after its rollback is exported as rolled back at %v", v)
	}

	events := numbered(
		ev(store.EventStageStarted, "checkout", "eu-west-1", 1),
		ev(store.EventRolledBack, "checkout", "eu-west-1", 1.5),
		ev(store.EventRolledBack, "checkout", "eu-west-1", 1.6), // reported again
		ev(store.EventStageStarted, "checkout", "us-east-1", 1),
		ev(store.EventRolledBack, "checkout", "us-east-1", 2),
		ev(store.EventStageStarted, "checkout", "us-east-1", 3), // tried again
		ev(store.EventRolledBack, "search", "", 2),
	)
	s = Compute(events, nil, ComputeConfig{Now: at(4), ActiveFor: 30 * time.Minute})
	for _, c := range []struct {
		service, cluster string
		want             float64 // hours after t0; 0: absent
	}{
		{"checkout", "eu-west-1", 1.6},
		{"checkout", "us-east-1", 0},
		{"search", "", 2},
	} {
		v, ok := s.Value(RolledBackAt, c.service, c.cluster, "openssl")
		switch {
		case c.want == 0 && ok:
			t.Errorf("%s/%s: rolled back at %v, want no series (it was tried again)", c.service, c.cluster, v)
		case c.want != 0 && (!ok || v != float64(at(c.want).Unix())):
			t.Errorf("%s/%s: %v (present %v), want %v", c.service, c.cluster, v, ok, at(c.want).Unix())
		}
	}
}

func TestProgressAfterNoGo(t *testing.T) {
	cases := []struct {
		name      string
		events    []store.Event
		decisions []store.Decision // newest first
		want      map[string]float64
	}{
		{
			name: "promoted twice after a no_go",
			events: numbered(
				ev(store.EventStageStarted, "checkout", "eu", 1),
				ev(store.EventPromoted, "checkout", "eu", 2.5),
				ev(store.EventStageStarted, "checkout", "eu", 2.6),
				ev(store.EventStageStarted, "checkout", "us", 2.7),
			),
			decisions: []store.Decision{dec("wait", 2.2), dec("no_go", 2), dec("go", 1.5)},
			want:      map[string]float64{"eu": 2, "us": 1},
		},
		{
			name:      "a go after the no_go acknowledges it",
			events:    numbered(ev(store.EventPromoted, "checkout", "eu", 2.5)),
			decisions: []store.Decision{dec("go", 2.4), dec("no_go", 2)},
			want:      map[string]float64{},
		},
		{
			name: "rolled back after the no_go",
			events: numbered(
				ev(store.EventPromoted, "checkout", "eu", 2.5),
				ev(store.EventRolledBack, "checkout", "eu", 2.7),
				ev(store.EventPromoted, "checkout", "us", 2.5),
				ev(store.EventDeployed, "checkout", "us", 2.8),
			),
			decisions: []store.Decision{dec("no_go", 2)},
			want:      map[string]float64{},
		},
		{
			name: "a rollback of the whole service",
			events: numbered(
				ev(store.EventPromoted, "checkout", "eu", 2.5),
				ev(store.EventRolledBack, "checkout", "", 2.7),
			),
			decisions: []store.Decision{dec("no_go", 2)},
			want:      map[string]float64{},
		},
		{
			name:      "events before the no_go and other services do not count",
			events:    numbered(ev(store.EventPromoted, "checkout", "eu", 1.9), ev(store.EventPromoted, "search", "eu", 2.5)),
			decisions: []store.Decision{dec("no_go", 2)},
			want:      map[string]float64{},
		},
		{
			name:      "stale",
			events:    numbered(ev(store.EventPromoted, "checkout", "eu", 2.5)),
			decisions: []store.Decision{dec("no_go", 2)},
			want:      map[string]float64{},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nowAt := at(3)
			if c.name == "stale" {
				nowAt = at(2.5).Add(progressStale + time.Minute)
			}
			s := Compute(c.events, c.decisions, ComputeConfig{Now: nowAt, ActiveFor: 30 * time.Minute})
			got := map[string]float64{}
			for _, v := range s.values[ProgressAfterNoGo] {
				if v.labels[0] != "checkout" || v.labels[2] != "openssl" {
					t.Errorf("unexpected series %v", v.labels)
				}
				got[v.labels[1]] = v.v
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("cluster %s: %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

// Events stored before the server refused implausible times (a zero time,
// a disclosure in 1970) change no series: they would skew every
// duration and the exposure window for as long as they are exported.
func TestImplausibleTimesIgnored(t *testing.T) {
	cfg := ComputeConfig{Now: now, ActiveFor: 30 * time.Minute}
	want := Compute(timeline(), decisions(), cfg)
	bad := []store.Event{
		{PatchID: "openssl", Type: store.EventDiscovered, Time: time.Time{}, ReceivedAt: at(0), Severity: "critical"},
		{PatchID: "openssl", Type: store.EventStageStarted, Time: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ReceivedAt: at(39),
			Service: "checkout", Cluster: "eu-west-1", Stage: "canary", Attempt: "1"},
		{PatchID: "bad\x00id", Type: store.EventStageStarted, Time: at(41), Service: "checkout", Cluster: "eu-west-1", Stage: "canary"},
		{PatchID: "bad\x00id", Type: store.EventRolledBack, Time: at(42), Service: "checkout", Cluster: "eu-west-1", Stage: "canary"},
		{PatchID: "kernel", Type: store.EventDiscovered, Time: at(70), ReceivedAt: at(70),
			Labels: map[string]string{DisclosedAtLabel: "1970-01-01T00:00:00Z"}},
	}
	got := Compute(append(bad, timeline()...), decisions(), cfg)
	if v, ok := got.Value(RolledBackAt, "checkout", "eu-west-1", "bad\x00id"); ok {
		t.Errorf("a patch id with a NUL is exported as a label value (rolled back at %v)", v)
	}
	for _, sev := range []string{"critical", "high", "medium", "low", "unknown"} {
		w, _ := want.Value(ExposureWindow, sev)
		g, _ := got.Value(ExposureWindow, sev)
		if w != g {
			t.Errorf("exposure window of %s: %v, want %v", sev, g, w)
		}
	}
	for _, l := range [][]string{{"critical", "checkout", "eu-west-1"}, {"high", "checkout", ""}, {"high", "checkout", "eu-west-1"}} {
		wc, ws := want.Observations(TimeToDeploy, l...)
		gc, gs := got.Observations(TimeToDeploy, l...)
		if wc != gc || ws != gs {
			t.Errorf("time to deploy %v: %d observations summing %v, want %d summing %v", l, gc, gs, wc, ws)
		}
	}
}
