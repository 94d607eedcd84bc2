package scan

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/store"
)

func TestPatches(t *testing.T) {
	trivy := decodeFile(t, "trivy", "trivy-image.json")
	grype := decodeFile(t, "grype", "grype-dir.json")
	patches, unfixed := Patches([]Report{trivy, grype})
	if unfixed != 2 {
		t.Errorf("unfixed %d, want 2 (zlib1g and bash have no fix)", unfixed)
	}
	var ids []string
	for _, p := range patches {
		ids = append(ids, p.ID)
	}
	if diff := cmp.Diff([]string{"golang.org/x/net@0.33.0", "libssl3@3.0.15-1~deb12u1"}, ids); diff != "" {
		t.Fatalf("patch ids (-want +got):\n%s", diff)
	}
	ssl := patches[1]
	// The highest severity of its CVEs, the earliest publication, both scanners and assets.
	if ssl.Severity != "critical" || !ssl.Disclosed.Equal(time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("libssl3: severity %q, disclosed %v", ssl.Severity, ssl.Disclosed)
	}
	if diff := cmp.Diff([]string{"CVE-2026-1234", "CVE-2026-1301"}, ssl.CVEs); diff != "" {
		t.Errorf("cves (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/srv/checkout", "registry.example.com/checkout:1.42.0"}, ssl.Assets); diff != "" {
		t.Errorf("assets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"grype", "trivy"}, ssl.Scanners); diff != "" {
		t.Errorf("scanners (-want +got):\n%s", diff)
	}
}

// stored turns planned changes into the events the store would hold.
func stored(scope Scope, changes []Change, seq *int64) []store.Event {
	var out []store.Event
	for _, c := range changes {
		*seq++
		out = append(out, store.Event{Seq: *seq, PatchID: c.PatchID, Type: c.Type, Time: c.Time, Service: scope.Service,
			Cluster: scope.Cluster, Severity: c.Severity, Labels: c.Labels, IdempotencyKey: c.Key})
	}
	return out
}

// TestPlanLifecycle: a first scan discovers, the same scan again adds
// nothing new (same keys), a later clean scan closes, and the patch's
// exposure follows.
func TestPlanLifecycle(t *testing.T) {
	scope := Scope{Service: "checkout", Cluster: "eu-west-1"}
	first := decodeFile(t, "trivy", "trivy-image.json")
	patches, _ := Patches([]Report{first})
	at := ScanTime([]Report{first}, testNow)
	var seq int64
	changes := Plan(patches, PlanConfig{Scope: scope, At: at, Complete: true})
	if len(changes) != 2 {
		t.Fatalf("%d changes, want 2 discovered: %+v", len(changes), changes)
	}
	ssl := changes[1]
	if ssl.Type != store.EventDiscovered || ssl.PatchID != "libssl3@3.0.15-1~deb12u1" || ssl.Severity != "critical" || !ssl.Time.Equal(at) {
		t.Errorf("libssl3 change: %+v", ssl)
	}
	wantLabels := map[string]string{
		ScannerLabel: "trivy", CVEsLabel: "CVE-2026-1234,CVE-2026-1301", PackageLabel: "libssl3",
		InstalledLabel: "3.0.14-1~deb12u2", FixedLabel: "3.0.15-1~deb12u1", AssetsLabel: "registry.example.com/checkout:1.42.0",
		lifecycle.DisclosedAtLabel: "2026-11-18T10:00:00Z",
	}
	if diff := cmp.Diff(wantLabels, ssl.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	db := stored(scope, changes, &seq)

	// The same report again: the same keys, so the store adds nothing.
	again := Plan(patches, PlanConfig{Scope: scope, Stored: db, At: at, Complete: true})
	for i := range again {
		if again[i].Key != changes[i].Key {
			t.Errorf("re-import key %q, first %q", again[i].Key, changes[i].Key)
		}
	}
	if len(again) != len(changes) {
		t.Errorf("re-import planned %d changes, want the same %d", len(again), len(changes))
	}

	// Another service's events are not this scope's.
	other := Plan(nil, PlanConfig{Scope: Scope{Service: "search", Cluster: "eu-west-1"}, Stored: db, At: testNow, Complete: true})
	if len(other) != 0 {
		t.Errorf("a clean scan of another service closed %+v", other)
	}

	// An incomplete import (a bad file) closes nothing.
	if got := Plan(nil, PlanConfig{Scope: scope, Stored: db, At: testNow, Complete: false}); len(got) != 0 {
		t.Errorf("an incomplete import closed %+v", got)
	}

	// A later clean scan: both patches are gone.
	gone := Plan(nil, PlanConfig{Scope: scope, Stored: db, At: testNow, Complete: true})
	if len(gone) != 2 {
		t.Fatalf("%d changes, want 2 deployed: %+v", len(gone), gone)
	}
	for _, c := range gone {
		if c.Type != store.EventDeployed || !c.Time.Equal(testNow) || !strings.HasPrefix(c.Key, "scan-gone-") {
			t.Errorf("gone change %+v", c)
		}
	}
	if want := "no longer found by a trivy scan of service checkout in cluster eu-west-1"; gone[0].Detail != want {
		t.Errorf("detail %q, want %q", gone[0].Detail, want)
	}
	db = append(db, stored(scope, gone, &seq)...)
	var sslEvents []store.Event
	for _, e := range db {
		if e.PatchID == ssl.PatchID {
			sslEvents = append(sslEvents, e)
		}
	}
	if x := lifecycle.Exposure(sslEvents); x.Open {
		t.Errorf("exposure still open after the clean scan: %+v", x)
	}
	// A second clean scan: already closed, nothing to add.
	if got := Plan(nil, PlanConfig{Scope: scope, Stored: db, At: testNow, Complete: true}); len(got) != 0 {
		t.Errorf("second clean scan planned %+v", got)
	}
}

// TestPlanLeavesOtherPatchesAlone: patches no scan discovered (posted by
// hand or by a rollout tool) are not closed by a scan.
func TestPlanLeavesOtherPatchesAlone(t *testing.T) {
	scope := Scope{Service: "checkout"}
	db := []store.Event{{Seq: 1, PatchID: "kernel-6.1.119", Type: store.EventDiscovered, Service: "checkout", Time: testNow.Add(-time.Hour)}}
	if got := Plan(nil, PlanConfig{Scope: scope, Stored: db, At: testNow, Complete: true}); len(got) != 0 {
		t.Errorf("closed a patch no scan found: %+v", got)
	}
}

func TestJoinCut(t *testing.T) {
	var ids []string
	for i := range 40 {
		ids = append(ids, "CVE-2026-"+strings.Repeat("1", 4)+string(rune('a'+i%26)))
	}
	got := joinCut(ids, maxLabel)
	if len(got) > maxLabel {
		t.Fatalf("%d bytes", len(got))
	}
	listed, more := lifecycle.SplitCVEs(got)
	if len(listed)+more != len(ids) || more == 0 {
		t.Errorf("listed %d and %d more of %d: %q", len(listed), more, len(ids), got)
	}
	if cut("ééé", 4) != "…" || cut("abc", 3) != "abc" {
		t.Errorf("cut: %q %q", cut("ééé", 4), cut("abc", 3))
	}
}
