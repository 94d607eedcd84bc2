package lifecycle

import (
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

// TestOpenCVEExposure: each CVE of an open patch is exported with the
// patch's severity and exposure; a deployed patch's CVEs are not.
func TestOpenCVEExposure(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	events := []store.Event{
		{Seq: 1, PatchID: "libssl3@3.0.15", Type: store.EventDiscovered, Service: "checkout", Severity: "critical", Time: now.Add(-48 * time.Hour),
			Labels: map[string]string{CVEsLabel: "CVE-2026-1234,CVE-2026-1301,+3 more", DisclosedAtLabel: "2026-11-20T00:00:00Z"}},
		{Seq: 2, PatchID: "curl@8.5", Type: store.EventDiscovered, Service: "checkout", Severity: "high", Time: now.Add(-time.Hour),
			Labels: map[string]string{CVEsLabel: "CVE-2026-7"}},
		{Seq: 3, PatchID: "curl@8.5", Type: store.EventDeployed, Service: "checkout", Time: now},
	}
	s := Compute(events, nil, ComputeConfig{Now: now})
	for _, cve := range []string{"CVE-2026-1234", "CVE-2026-1301"} {
		if v, ok := s.Value(OpenCVEExposure, "critical", cve, "libssl3@3.0.15"); !ok || v != 6*86400 {
			t.Errorf("%s: %v, %v; want 6 days from the disclosure", cve, v, ok)
		}
	}
	if _, ok := s.Value(OpenCVEExposure, "high", "CVE-2026-7", "curl@8.5"); ok {
		t.Error("a deployed patch's CVE is exported")
	}
	if n := len(s.values[OpenCVEExposure]); n != 2 {
		t.Errorf("%d series, want 2 (the +3 more are not named)", n)
	}
}
