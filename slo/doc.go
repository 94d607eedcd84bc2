// Package slo turns a service's SLI definitions into PromQL and into
// Prometheus rules.
//
// SLI queries are written as in Sloth: per-second rates with {{.window}}
// where the range goes. Anything that comes from a request reaches a query
// only as a label value of a matcher that is added to the parsed syntax
// tree (Render, Matchers, Selector, AnyOf), so no input can change the
// shape of a query.
//
// Generator generates each service's SLO recording and alerting rules with
// Sloth's library (its own SLO and its Sloth spec files, in the SLO period's
// windows, windows/), and Files writes them, with the patch lifecycle rules
// (LifecycleRules), as Prometheus rules files or Prometheus Operator
// PrometheusRule objects: what `patchgate generate rules` writes.
package slo
