package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/store"
)

// Events lists stored patch events (the store implements it).
type Events interface {
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
}

// openPatches lists the patches open at end, oldest first, with the
// definition of the exposure gauge (internal/lifecycle, docs/metrics.md;
// a test keeps the two equal): a patch is closed once every service and
// cluster its rollout touched (stage_started, promoted, deployed,
// rolled_back) ended with deployed, a deployed event without a cluster
// covering the whole service; a patch with only discovered or tested
// events is open. Its age counts from its disclosure (the disclosed_at
// label), else its discovered event, else its first event.
func openPatches(ctx context.Context, ev Events, end time.Time, targetDays float64) (Exposure, error) {
	events, err := ev.ListEvents(ctx, store.EventFilter{Until: end})
	if err != nil {
		return Exposure{}, fmt.Errorf("listing patch events: %w", err)
	}
	slices.SortFunc(events, func(a, b store.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	byPatch := map[string][]store.Event{}
	var order []string
	for _, e := range events {
		if byPatch[e.PatchID] == nil {
			order = append(order, e.PatchID)
		}
		byPatch[e.PatchID] = append(byPatch[e.PatchID], e)
	}
	out := Exposure{Open: []OpenPatch{}}
	for _, id := range order {
		start, severity, pending, open := patchState(byPatch[id])
		if !open {
			continue
		}
		days := end.Sub(start).Hours() / 24
		op := OpenPatch{PatchID: id, Severity: severity, Services: pending, OpenSince: start.UTC(), DaysOpen: days, Status: Met}
		if days > targetDays {
			op.Status = Missed
			out.OverTarget++
		}
		out.Open = append(out.Open, op)
	}
	slices.SortFunc(out.Open, func(a, b OpenPatch) int {
		return cmp.Or(a.OpenSince.Compare(b.OpenSince), cmp.Compare(a.PatchID, b.PatchID))
	})
	return out, nil
}

// patchState reads one patch's events (in stored order): since when it
// is exposed, its severity (the first one given, else "unknown"), the
// services not yet deployed, and whether it is open.
func patchState(events []store.Event) (start time.Time, severity string, pending []string, open bool) {
	type pair struct{ service, cluster string }
	type last struct {
		at       time.Time
		seq      int64
		deployed bool
	}
	latest := map[pair]last{}
	var disclosed, discovered time.Time
	services := map[string]bool{}
	for _, e := range events {
		if start.IsZero() || e.Time.Before(start) {
			start = e.Time
		}
		if severity == "" {
			severity = e.Severity
		}
		if disclosed.IsZero() {
			if t, err := time.Parse(time.RFC3339Nano, e.Labels[lifecycle.DisclosedAtLabel]); err == nil {
				disclosed = t
			}
		}
		if e.Service != "" {
			services[e.Service] = true
		}
		switch e.Type {
		case store.EventDiscovered:
			if discovered.IsZero() {
				discovered = e.Time
			}
			continue
		case store.EventStageStarted, store.EventPromoted, store.EventDeployed, store.EventRolledBack:
		default:
			continue
		}
		if e.Service == "" {
			continue
		}
		k := pair{e.Service, e.Cluster}
		l := latest[k]
		if l.at.IsZero() || e.Time.After(l.at) || e.Time.Equal(l.at) && e.Seq > l.seq {
			latest[k] = last{at: e.Time, seq: e.Seq, deployed: e.Type == store.EventDeployed}
		}
	}
	if !discovered.IsZero() {
		start = discovered
	}
	if !disclosed.IsZero() {
		start = disclosed
	}
	if !slices.Contains([]string{"critical", "high", "medium", "low"}, severity) {
		severity = "unknown"
	}
	if len(latest) == 0 {
		// Nothing rolled out yet: every service it names is pending.
		for s := range services {
			pending = append(pending, s)
		}
		slices.Sort(pending)
		return start, severity, orEmpty(pending), true
	}
	waiting := map[string]bool{}
	for k, l := range latest {
		if whole, ok := latest[pair{k.service, ""}]; ok && k.cluster != "" && whole.deployed && !whole.at.Before(l.at) {
			continue
		}
		if !l.deployed {
			waiting[k.service] = true
		}
	}
	for s := range waiting {
		pending = append(pending, s)
	}
	slices.Sort(pending)
	return start, severity, orEmpty(pending), len(waiting) > 0
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// countEvents counts the events of a type in [start, end) by service,
// most first.
func countEvents(ctx context.Context, ev Events, typ string, start, end time.Time) (Counts, error) {
	es, err := ev.ListEvents(ctx, store.EventFilter{Type: typ, Since: start, Until: end})
	if err != nil {
		return Counts{}, fmt.Errorf("listing %s events: %w", typ, err)
	}
	by := map[string]int{}
	for _, e := range es {
		key := e.Service
		if key == "" {
			key = "(no service)"
		}
		by[key]++
	}
	out := Counts{Total: len(es), ByService: []KeyCount{}}
	for k, n := range by {
		out.ByService = append(out.ByService, KeyCount{Key: k, Count: n})
	}
	slices.SortFunc(out.ByService, func(a, b KeyCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}
