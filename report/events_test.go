package report

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchgate/patchgate/internal/store"
)

type eventList []store.Event

func (l eventList) ListEvents(_ context.Context, f store.EventFilter) ([]store.Event, error) {
	var out []store.Event
	for _, e := range l {
		if f.Until.IsZero() || e.Time.Before(f.Until) {
			out = append(out, e)
		}
	}
	return out, nil
}

// TestOpenCVEs: the CVEs of open patches, named by the events an imported
// scan wrote, by severity against the 14-day target; a closed patch's CVEs
// are gone.
func TestOpenCVEs(t *testing.T) {
	end := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	scanned := func(seq int64, patch, sev, cves, disclosed string, at time.Time) store.Event {
		labels := map[string]string{"scanner": "trivy", "cves": cves, "assets": "registry.example.com/checkout:1.42.0"}
		if disclosed != "" {
			labels["disclosed_at"] = disclosed
		}
		return store.Event{Seq: seq, PatchID: patch, Type: store.EventDiscovered, Service: "checkout", Severity: sev, Time: at, Labels: labels}
	}
	events := eventList{
		scanned(1, "libssl3@3.0.15-1", "critical", "CVE-2026-1234,CVE-2026-1301", "2026-11-06T00:00:00Z", end.Add(-2*day)),
		scanned(2, "golang.org/x/net@0.33.0", "high", "CVE-2026-22870", "", end.Add(-3*day)),
		scanned(3, "zlib1g@1.3", "low", "CVE-2025-1,+4 more", "", end.Add(-1*day)),
		scanned(4, "curl@8.5", "critical", "CVE-2026-7", "", end.Add(-30*day)),
		{Seq: 5, PatchID: "curl@8.5", Type: store.EventDeployed, Service: "checkout", Time: end.Add(-20 * day)},
		{Seq: 6, PatchID: "kernel-6.1.119", Type: store.EventDiscovered, Service: "payments", Severity: "high", Time: end.Add(-day)},
	}
	exp, err := openPatches(t.Context(), events, end, 14)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range exp.CVEs {
		got = append(got, c.Severity+" "+c.CVE+" "+c.PatchID+" "+string(c.Status))
	}
	want := []string{
		"critical CVE-2026-1234 libssl3@3.0.15-1 missed",
		"critical CVE-2026-1301 libssl3@3.0.15-1 missed",
		"high CVE-2026-22870 golang.org/x/net@0.33.0 met",
		"low CVE-2025-1 zlib1g@1.3 met",
		"low +4 more zlib1g@1.3 met",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("open CVEs (-want +got):\n%s", diff)
	}
	if c := exp.CVEs[0]; c.DaysOpen != 20 || !c.OpenSince.Equal(end.Add(-20*day)) || c.Assets[0] != "registry.example.com/checkout:1.42.0" {
		t.Errorf("exposure from the disclosure: %+v", c)
	}
	wantSummary := []SeverityCVEs{
		{Severity: "critical", Open: 2, OverTarget: 2, OldestDays: 20, Status: Missed},
		{Severity: "high", Open: 1, OldestDays: 3, Status: Met},
		{Severity: "medium", Status: Met},
		{Severity: "low", Open: 2, OldestDays: 1, Status: Met},
		{Severity: "unknown", Status: Met},
	}
	if diff := cmp.Diff(wantSummary, exp.CVEsBySeverity); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	// Without any imported scan the CVE figures are no data, never met.
	none, err := openPatches(t.Context(), eventList{events[5]}, end, 14)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range none.CVEsBySeverity {
		if s.Status != NoData || s.Open != 0 {
			t.Errorf("without scans: %+v", s)
		}
	}
}
