// Package slo turns a service's SLI definitions into PromQL. SLI queries
// are written as in Sloth: per-second rates with {{.window}} where the range
// goes. Anything that comes from a request reaches a query only as a label
// value of a matcher that is added to the parsed syntax tree, so no input
// can change the shape of a query.
package slo
