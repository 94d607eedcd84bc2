package lifecycle

import (
	"slices"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

func TestExposure(t *testing.T) {
	ev := func(seq int64, typ, service, cluster string, h float64) store.Event {
		return store.Event{Seq: seq, Type: typ, Service: service, Cluster: cluster, Time: at(h)}
	}
	disclosed := func(e store.Event, h float64) store.Event {
		e.Labels = map[string]string{DisclosedAtLabel: at(h).Format(time.RFC3339)}
		return e
	}
	severe := func(e store.Event, s string) store.Event { e.Severity = s; return e }
	for _, tc := range []struct {
		name     string
		events   []store.Event
		open     bool
		since    time.Time
		severity string
		pending  []string
	}{{
		name:   "only tested: open from its first event, every named service pending",
		events: []store.Event{ev(1, store.EventTested, "search", "", 2), ev(2, store.EventTested, "checkout", "", 1)},
		open:   true, since: at(1), severity: "unknown", pending: []string{"checkout", "search"},
	}, {
		name: "disclosed before discovery: open since the disclosure",
		events: []store.Event{
			disclosed(severe(ev(1, store.EventDiscovered, "checkout", "", 5), "critical"), -3),
			ev(2, store.EventDeployed, "checkout", "eu", 6), ev(3, store.EventStageStarted, "checkout", "us", 7),
		},
		open: true, since: at(-3), severity: "critical", pending: []string{"checkout"},
	}, {
		name: "a whole-service deployment after a cluster's stage closes it",
		events: []store.Event{
			severe(ev(1, store.EventDiscovered, "search", "", 0), "high"),
			ev(2, store.EventStageStarted, "search", "eu", 1), ev(3, store.EventDeployed, "search", "", 2),
		},
		open: false, since: at(0), severity: "high", pending: []string{},
	}, {
		name: "started again after its deployment: open",
		events: []store.Event{
			severe(ev(1, store.EventDiscovered, "payments", "", 0), "medium"),
			ev(2, store.EventDeployed, "payments", "eu", 1), ev(3, store.EventStageStarted, "payments", "eu", 2),
		},
		open: true, since: at(0), severity: "medium", pending: []string{"payments"},
	}, {
		name: "an unknown severity is unknown",
		events: []store.Event{
			severe(ev(1, store.EventDiscovered, "payments", "", 0), "urgent"), ev(2, store.EventDeployed, "payments", "", 1),
		},
		open: false, since: at(0), severity: "unknown", pending: []string{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := Exposure(tc.events)
			if got.Open != tc.open || !got.Since.Equal(tc.since) || got.Severity != tc.severity || !slices.Equal(got.Pending, tc.pending) {
				t.Errorf("Exposure = %+v, want open %v since %v, severity %s, pending %v", got, tc.open, tc.since, tc.severity, tc.pending)
			}
		})
	}
}
