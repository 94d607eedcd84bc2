package sim

import (
	"context"
	"testing"
)

// inventoryCounts sums the last step's fleet input series of one cluster.
func inventoryCounts(t *testing.T, f *Fleet, cluster string) (assets map[string]float64, pass, fail float64, severity string) {
	t.Helper()
	var s sink
	if err := f.Step(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	assets = map[string]float64{}
	for _, smp := range s.samples {
		if smp.Labels["cluster"] != cluster {
			continue
		}
		switch smp.Labels["__name__"] {
		case "patchgate_fleet_assets":
			if smp.Labels["service"] != "web" || smp.Labels["patch_id"] != "p-1" {
				t.Fatalf("asset series of another service or patch: %v", smp.Labels)
			}
			assets[smp.Labels["status"]] += smp.V
			severity = smp.Labels["severity"]
		case "patchgate_fleet_compliance_checks":
			if smp.Labels["result"] == "pass" {
				pass += smp.V
			} else {
				fail += smp.V
			}
		}
	}
	return assets, pass, fail, severity
}

func TestInventoryFollowsTheRollout(t *testing.T) {
	f := newFleet(t)
	var s sink
	if err := f.Step(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	for _, smp := range s.samples {
		if name := smp.Labels["__name__"]; name == "patchgate_fleet_assets" || name == "patchgate_fleet_compliance_checks" {
			t.Fatalf("fleet input series before any rollout: %v", smp.Labels)
		}
	}

	f.SetSeverity("p-1", "critical")
	if err := f.SetRollout("web", "p-1", 0.25, 0.01); err != nil {
		t.Fatal(err)
	}
	assets, pass, fail, sev := inventoryCounts(t, f, "a")
	if sev != "critical" {
		t.Errorf("severity %q, want critical", sev)
	}
	all := assets["patched"] + assets["pending"] + assets["failed"] + assets["offline"]
	if all != 10 {
		t.Fatalf("statuses add up to %v hosts, want the cluster's 10: %v", all, assets)
	}
	online := all - assets["offline"]
	// ceil(25% of 10) = 3 hosts on the patch, some of them maybe offline.
	if assets["patched"] < 1 || assets["patched"] > 3 || assets["pending"] < 7-assets["offline"] {
		t.Errorf("at 25%%: %v", assets)
	}
	// Each online host runs 20 checks and fails the vulnerability scan
	// while the critical patch is pending on it.
	if pass+fail != 20*online || fail != assets["pending"] {
		t.Errorf("compliance checks: %v pass, %v fail; hosts %v", pass, fail, assets)
	}

	if err := f.SetRollout("web", "p-1", 1, 0.01); err != nil {
		t.Fatal(err)
	}
	assets, _, fail, _ = inventoryCounts(t, f, "a")
	if assets["pending"] != 0 || assets["patched"] != 10-assets["offline"] || fail != 0 {
		t.Errorf("at 100%%: %v, %v checks failing", assets, fail)
	}

	if err := f.Rollback("web"); err != nil {
		t.Fatal(err)
	}
	assets, _, _, _ = inventoryCounts(t, f, "a")
	if assets["patched"] != 0 {
		t.Errorf("after the rollback: %v", assets)
	}
}

// TestHostStatusAddsUpToAssets: every host of a service under a rollout
// reports its status once, and the per-host series add up to the asset
// counts of patchgate_fleet_assets.
func TestHostStatusAddsUpToAssets(t *testing.T) {
	f := newFleet(t)
	if err := f.SetRollout("web", "p-1", 0.5, 0.01); err != nil {
		t.Fatal(err)
	}
	var s sink
	if err := f.Step(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	assets, perHost := map[string]float64{}, map[string]float64{}
	hosts := map[string]int{}
	for _, smp := range s.samples {
		switch smp.Labels["__name__"] {
		case "patchgate_fleet_assets":
			assets[smp.Labels["status"]] += smp.V
		case "patchgate_fleet_host_status":
			perHost[smp.Labels["status"]] += smp.V
			hosts[smp.Labels["host"]]++
		}
	}
	if len(hosts) != f.Hosts() {
		t.Fatalf("%d hosts report a status, want all %d", len(hosts), f.Hosts())
	}
	for h, n := range hosts {
		if n != 1 {
			t.Errorf("host %s reports %d statuses, want 1", h, n)
		}
	}
	for status, n := range assets {
		if perHost[status] != n {
			t.Errorf("status %s: %v hosts by host series, %v by asset counts", status, perHost[status], n)
		}
	}
	if perHost["patched"] == 0 || perHost["pending"] == 0 {
		t.Errorf("half the fleet on the patch should give patched and pending hosts: %v", perHost)
	}
}
