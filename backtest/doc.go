// Package backtest replays a policy over past stages: for each stage it
// asks the gate once a minute from the stage's start, at those past times,
// until the first go or no_go or the stage's max_wait, through the same
// gate.Engine, checks, sequential state and decision code as serve. It
// writes nothing to the audit log: each stage is replayed on an engine of
// its own over an in-memory store.
//
// The operator controls that come from the configuration (maintenance
// windows, freezes) are evaluated as of the stage's past times; those that
// came through the API (overrides, API freezes) and the concurrency limit
// depend on state that was never recorded for the past, and are skipped.
//
// A stage's data is fetched with one range query per distinct query over
// the stage's looks (Prefetch), not one query per minute per check.
package backtest
