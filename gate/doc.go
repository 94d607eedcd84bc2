// Package gate is the decision engine: for a request (service, patch,
// stage) it answers go, no_go or wait with a reason an SRE can redo by
// hand, and records every answer before it is returned.
//
// Engine.Decide is one pipeline of four steps:
//
//  1. resolve: check the request, find its stage attempt (its window and
//     sequential state, from the store), the look it falls in (one per
//     completed minute), the patch's severity when a control needs it,
//     and the operator controls and override in force;
//  2. run the checks: the operator controls (window, freeze,
//     concurrency) on every ask, the metric checks (freshness,
//     min_traffic, error_delta, burn_rate, alerts) once per look. Every
//     check implements the check interface and returns a CheckResult;
//     each runs in a goroutine that recovers, so a panic is that check's
//     failure;
//  3. decide: one pure function orders the results (worst wins, an
//     unknown verdict is never a pass, a metric wait at max_wait becomes
//     on_timeout, an override applies last);
//  4. record: the decision is appended to the audit log, then observers
//     (Grafana annotations, metrics) are told.
//
// Asks of a stage attempt within the same look, under the same controls,
// share one decision: the look cache and the in-flight sharing are keyed
// by lookKey, a comparable struct. The gate reads and writes the store
// only through the Store interface declared here; gate/stats holds the
// sequential test. docs/architecture.md says where a new check goes.
package gate
