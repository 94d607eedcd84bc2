// Package alerts writes the patch alerts and their Alertmanager routing.
//
// Rules returns the alerting rules `patchgate generate alerts` writes:
// pages (a canary failing beyond its margin, a failed rollback, a mass
// reboot, a rollout going on past the gate's no_go) and tickets (compliance
// drift, hosts failing to patch, exposure window, coverage, error budget
// used by patching), each labelled severity (page or ticket), source
// ("patchgate"), patch_id, cluster, service and team where the series
// carry them, with a runbook link and a description that names the numbers.
//
// Alertmanager returns the routing `patchgate generate alertmanager`
// writes, alone or merged into an existing alertmanager.yml: one
// notification per patch, cluster and service; pages and tickets to their
// receivers; a page silences the tickets of the same patch, cluster and
// service; alerts expected in a patch window (mass reboots) are muted
// inside the configured windows.
//
// docs/alerts.md describes every alert and the routing.
package alerts
