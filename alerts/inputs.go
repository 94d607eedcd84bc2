package alerts

import "github.com/patchgate/patchgate/internal/lifecycle"

// Input series the alerts read besides patchgate's own and the fleet
// input contract of docs/metrics.md.
const (
	// HostStatus is the per-host form of the fleet contract: 1 for the
	// status of a host for a patch (patched, pending, failed, offline),
	// labels cluster, service, severity, patch_id, host and status.
	// Optional: without it, failures are alerted per cluster, service and
	// patch from patchgate_fleet_assets.
	HostStatus = "patchgate_fleet_host_status"
	// NodeBootTime is node_exporter's boot time; a change is a reboot.
	NodeBootTime = "node_boot_time_seconds"
)

// Inputs describes the input series the alerts read that are not part of
// the fleet contract (slo.InputContract).
func Inputs() []lifecycle.Metric {
	return []lifecycle.Metric{
		{Name: HostStatus, Type: "gauge", Labels: []string{"cluster", "service", "severity", "patch_id", "host", "status"},
			Help: "1 for each host's status for a patch: patched, pending, failed or offline (the per-host form of patchgate_fleet_assets).", Exporter: "input"},
		{Name: NodeBootTime, Type: "gauge", Labels: []string{"cluster", "instance"},
			Help: "node_exporter's boot time of each host (optionally with the service it runs); a change is a reboot.", Exporter: "input"},
	}
}
