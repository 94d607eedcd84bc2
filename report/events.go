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

// openPatches lists the patches open at end, oldest first, by the rule of
// the exposure gauge (lifecycle.Exposure, docs/metrics.md).
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
		x := lifecycle.Exposure(byPatch[id])
		if !x.Open {
			continue
		}
		days := end.Sub(x.Since).Hours() / 24
		op := OpenPatch{PatchID: id, Severity: x.Severity, Services: x.Pending, OpenSince: x.Since.UTC(), DaysOpen: days, Status: Met}
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
