package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/scan"
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
	out := Exposure{Open: []OpenPatch{}, Status: NoData}
	if len(order) > 0 {
		out.Status = Met
	}
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
			out.Status = Missed
		}
		out.Open = append(out.Open, op)
	}
	slices.SortFunc(out.Open, func(a, b OpenPatch) int {
		return cmp.Or(a.OpenSince.Compare(b.OpenSince), cmp.Compare(a.PatchID, b.PatchID))
	})
	out.CVEs, out.CVEsBySeverity = openCVEs(out.Open, byPatch, anyCVEs(events), targetDays)
	return out, nil
}

// anyCVEs reports whether some event names CVEs: without, the CVE
// figures are no data rather than met.
func anyCVEs(events []store.Event) bool {
	return slices.ContainsFunc(events, func(e store.Event) bool { return e.Labels[lifecycle.CVEsLabel] != "" })
}

// cveSeverities is the order of the CVE summary, most severe first.
var cveSeverities = []string{"critical", "high", "medium", "low", "unknown"}

// openCVEs lists the CVEs of the open patches, from their events' cves
// labels, and counts them by severity.
func openCVEs(open []OpenPatch, byPatch map[string][]store.Event, known bool, targetDays float64) ([]OpenCVE, []SeverityCVEs) {
	cves := []OpenCVE{}
	for _, p := range open {
		ids, more := lifecycle.PatchCVEs(byPatch[p.PatchID])
		var assets []string
		for _, e := range byPatch[p.PatchID] {
			for _, a := range strings.Split(e.Labels[scan.AssetsLabel], ",") {
				if a != "" && !slices.Contains(assets, a) {
					assets = append(assets, a)
				}
			}
		}
		slices.Sort(assets)
		if more > 0 {
			ids = append(ids, fmt.Sprintf("+%d more", more))
		}
		for _, id := range ids {
			cves = append(cves, OpenCVE{CVE: id, Severity: p.Severity, PatchID: p.PatchID, Services: p.Services,
				Assets: append([]string{}, assets...), OpenSince: p.OpenSince, DaysOpen: p.DaysOpen, Status: p.Status})
		}
	}
	rank := func(s string) int { return slices.Index(cveSeverities, s) }
	slices.SortStableFunc(cves, func(a, b OpenCVE) int {
		return cmp.Or(cmp.Compare(rank(a.Severity), rank(b.Severity)), a.OpenSince.Compare(b.OpenSince),
			cmp.Compare(a.PatchID, b.PatchID)) // stable: a patch's CVEs stay sorted, "+N more" last
	})
	var summary []SeverityCVEs
	for _, sev := range cveSeverities {
		row := SeverityCVEs{Severity: sev, Status: NoData}
		if known {
			row.Status = Met
		}
		for _, c := range cves {
			if c.Severity != sev {
				continue
			}
			row.Open++
			row.OldestDays = max(row.OldestDays, c.DaysOpen)
			if c.DaysOpen > targetDays {
				row.OverTarget++
				row.Status = Missed
			}
		}
		summary = append(summary, row)
	}
	return cves, summary
}

// countEvents counts the events of a type in [start, end) by service,
// most first, and per step of the trend chart: the table and the chart are
// the same events, so they always agree.
func countEvents(ctx context.Context, ev Events, typ string, start, end time.Time, step time.Duration) (Counts, []Point, error) {
	es, err := ev.ListEvents(ctx, store.EventFilter{Type: typ, Since: start, Until: end})
	if err != nil {
		return Counts{}, nil, fmt.Errorf("listing %s events: %w", typ, err)
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
	return out, perStep(es, start, end, step), nil
}

// perStep counts events in each step ending at end (the chart's points,
// stamped at each step's end as a range query's increase would be); empty
// without events, so the chart says it has no data rather than draw zeros.
func perStep(es []store.Event, start, end time.Time, step time.Duration) []Point {
	if len(es) == 0 || step <= 0 {
		return nil
	}
	n := int(end.Sub(start) / step)
	if end.Sub(start)%step != 0 {
		n++
	}
	counts := make([]float64, n)
	for _, e := range es {
		i := n - 1 - int(end.Sub(e.Time)/step)
		if e.Time.Equal(end) {
			i = n - 1
		}
		if i >= 0 && i < n {
			counts[i]++
		}
	}
	out := make([]Point, n)
	for i := range counts {
		out[i] = Point{T: end.Add(-time.Duration(n-1-i) * step).UTC(), V: counts[i]}
	}
	return out
}
