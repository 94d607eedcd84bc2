// Package gate is the decision engine: for a request (service, patch,
// stage) it loads the stage's policy, runs each check against the metric
// source and answers go, no_go or wait with a reason an SRE can redo by
// hand. Every answer is written to the store before it is returned.
//
// A stage attempt is looked at once per completed minute of its window:
// asks within the same minute share one evaluation (and one set of
// queries), and concurrent identical asks share the one in flight.
package gate
