package sim

import (
	"cmp"
	"hash/fnv"
	"slices"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
)

// The fleet input contract (docs/metrics.md): what an inventory, the patch
// agents and a compliance scanner report to Prometheus, and what the
// lifecycle rules of `patchgate generate rules` read.
const (
	fleetAssetsMetric      = "patchgate_fleet_assets"
	fleetHostStatusMetric  = "patchgate_fleet_host_status"
	complianceChecksMetric = "patchgate_fleet_compliance_checks"
)

// Inventory settings: the share of hosts reported offline (chosen by a hash
// of the host name, so the same hosts every run and no draw from the
// fleet's random numbers) and the compliance checks each online host runs.
const (
	offlinePercent = 4
	checksPerHost  = 20
)

// inventory is the fleet's patch bookkeeping. Its zero value is ready.
type inventory struct {
	severity map[string]string // by patch
}

// SetSeverity records the severity of a patch (critical, high, medium,
// low) for the fleet input series; a patch without one is reported as
// severity "unknown".
func (f *Fleet) SetSeverity(patch, severity string) {
	if f.inventory.severity == nil {
		f.inventory.severity = map[string]string{}
	}
	f.inventory.severity[patch] = severity
}

// offline reports whether the inventory sees h as offline.
func (h *host) offline() bool {
	s := fnv.New32a()
	s.Write([]byte(h.name))
	return s.Sum32()%100 < offlinePercent
}

// inventorySamples returns the fleet input series at t:
//
//	patchgate_fleet_assets{cluster,service,severity,patch_id,status}
//	    hosts of a service with a rollout, by status for its patch:
//	    patched (on it), pending (not yet, or rolled back), failed (no host
//	    of the simulator fails to patch: always 0), offline;
//	patchgate_fleet_host_status{cluster,service,severity,patch_id,host,status}
//	    1 for each host's status for its service's patch (the series of a
//	    status the host left goes stale);
//	patchgate_fleet_compliance_checks{cluster,service,result}
//	    checks of online hosts: each runs checksPerHost checks and fails one
//	    (the vulnerability scan) while a critical or high patch of its
//	    service is pending on it.
func (f *Fleet) inventorySamples(t time.Time) []metricsource.Sample {
	type assetKey struct{ cluster, service, patch, status string }
	type checkKey struct{ cluster, service, result string }
	assets := map[assetKey]float64{}
	checks := map[checkKey]float64{}
	var hosts []metricsource.Sample
	for _, h := range f.hosts {
		r, ok := f.rollouts[h.service]
		if !ok {
			continue
		}
		for _, s := range []string{"patched", "pending", "failed", "offline"} {
			assets[assetKey{h.cluster, h.service, r.patch, s}] += 0 // every status is written, zeros too
		}
		status := "pending"
		switch {
		case h.offline():
			status = "offline"
		case h.patch == r.patch:
			status = "patched"
		}
		assets[assetKey{h.cluster, h.service, r.patch, status}]++
		hosts = append(hosts, metricsource.Sample{T: t, V: 1, Labels: map[string]string{
			"__name__": fleetHostStatusMetric, "cluster": h.cluster, "service": h.service,
			"severity": f.severityOf(r.patch), "patch_id": r.patch, "host": h.name, "status": status,
		}})
		if status == "offline" {
			continue
		}
		failed := 0.0
		if sev := f.severityOf(r.patch); status == "pending" && (sev == "critical" || sev == "high") {
			failed = 1
		}
		checks[checkKey{h.cluster, h.service, "pass"}] += checksPerHost - failed
		checks[checkKey{h.cluster, h.service, "fail"}] += failed
	}
	out := make([]metricsource.Sample, 0, len(assets)+len(checks)+len(hosts))
	out = append(out, hosts...)
	for k, v := range assets {
		out = append(out, metricsource.Sample{T: t, V: v, Labels: map[string]string{
			"__name__": fleetAssetsMetric, "cluster": k.cluster, "service": k.service,
			"severity": f.severityOf(k.patch), "patch_id": k.patch, "status": k.status,
		}})
	}
	for k, v := range checks {
		out = append(out, metricsource.Sample{T: t, V: v, Labels: map[string]string{
			"__name__": complianceChecksMetric, "cluster": k.cluster, "service": k.service, "result": k.result,
		}})
	}
	// A stable order, for tests that look at the samples.
	slices.SortFunc(out, func(a, b metricsource.Sample) int {
		return cmp.Compare(labelKey(a.Labels), labelKey(b.Labels))
	})
	return out
}

func (f *Fleet) severityOf(patch string) string {
	if s, ok := f.inventory.severity[patch]; ok {
		return s
	}
	return "unknown"
}

func labelKey(ls map[string]string) string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b []byte
	for _, k := range keys {
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, ls[k]...)
		b = append(b, ',')
	}
	return string(b)
}
