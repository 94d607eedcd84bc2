// Package dashboards builds patchgate's Grafana dashboards with Grafana's
// foundation SDK, publishes them through Grafana's HTTP API
// (grafana-openapi-client-go, over an http.Client of its own), and marks
// the gate's decisions as annotations on the on-call dashboard.
//
// Build turns a configuration into the executive, on-call and debug
// dashboards and one SLO dashboard per service; every panel has a fixed
// id and grid position, and every query reads only series that patchgate
// exports, its generated rules record, the fleet input contract holds, or
// Inputs lists (docs/metrics.md). Publish creates the folder and creates or
// updates each dashboard by uid, posting nothing for a dashboard Grafana
// already holds as built. An Annotator sends annotations from a bounded
// queue with one worker, so that annotating never delays a decision: what
// cannot be queued or sent is dropped and counted.
//
// The package does not import the gate: cmd/patchgate turns each decision
// into an Annotation (docs/dashboards.md).
package dashboards
