package gate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// DefaultControlsTTL is how long overrides and freezes read from the store
// are reused before they are read again (Config.ControlsTTL). A change made
// through this replica's API applies at once (ControlsChanged); one made
// through another replica within this time.
const DefaultControlsTTL = time.Second

// ParamSeverity is the patch's severity (critical, high, medium, low),
// for the emergency path; without it the patch's discovered event says.
const ParamSeverity = "severity"

// OverrideInfo is the override a decision was made under.
type OverrideInfo struct {
	ID        string    `json:"id"`
	Actor     string    `json:"actor"`
	Reason    string    `json:"reason"`
	ExpiresAt time.Time `json:"expires_at"`
	// BypassedChecks are the checks whose verdict disagreed with the
	// override's.
	BypassedChecks []string `json:"bypassed_checks"`
}

// controlCache is what the engine keeps of the operator controls: a
// short-lived copy of the overrides and freezes in force, the patches'
// severities and the concurrency admissions.
type controlCache struct {
	mu        sync.Mutex
	loadedAt  time.Time // by the wall clock; zero when stale
	overrides []store.Override
	freezes   []store.Freeze

	severity   bounded[string, severityEntry] // by patch id
	admissions bounded[store.SlotKey, admission]
}

type severityEntry struct {
	severity string
	at       time.Time
}

// ControlsChanged makes the next ask read overrides and freezes from the
// store again. The server calls it after creating or deleting one.
func (e *Engine) ControlsChanged() {
	e.controls.mu.Lock()
	defer e.controls.mu.Unlock()
	e.controls.loadedAt = time.Time{}
}

func (e *Engine) controlsTTL() time.Duration {
	if e.cfg.ControlsTTL == 0 {
		return DefaultControlsTTL
	}
	return e.cfg.ControlsTTL
}

// snapshot returns the overrides and freezes not yet over at now.
func (e *Engine) snapshot(ctx context.Context, now time.Time) ([]store.Override, []store.Freeze, error) {
	c := &e.controls
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loadedAt.IsZero() && time.Since(c.loadedAt) < e.controlsTTL() {
		return c.overrides, c.freezes, nil
	}
	os, err := e.cfg.Store.ListOverrides(ctx, store.ControlFilter{InForceAt: now})
	if err != nil {
		return nil, nil, fmt.Errorf("load overrides: %w", err)
	}
	fs, err := e.cfg.Store.ListFreezes(ctx, store.ControlFilter{InForceAt: now})
	if err != nil {
		return nil, nil, fmt.Errorf("load freezes: %w", err)
	}
	c.overrides, c.freezes, c.loadedAt = os, fs, time.Now()
	return os, fs, nil
}

// controlState is what a control found in force at an ask: its verdict,
// and the window, freeze or place in line behind it. The look cache
// reuses a decision only while every control finds the same.
type controlState struct {
	verdict CheckVerdict
	id      string // an API freeze's id
	n       int    // a configured window or freeze (1-based), or a place in line
}

// The controls, in the order their states enter the look key.
const (
	ctlWindow = iota
	ctlFreeze
	ctlConcurrency
	numControls
)

// controlChecks returns the operator controls that apply to an ask:
// the service's maintenance windows, the change freezes (configured and
// from the API) and the concurrency limit. They run on every ask, since
// they change within a look.
func (e *Engine) controlChecks(sched *schedule, apiFreezes []store.Freeze, svc *config.Service, now time.Time) []check {
	var out []check
	if len(sched.windows) > 0 {
		out = append(out, windowCheck{windows: sched.windows})
	}
	rules := sched.freezes
	for _, f := range apiFreezes {
		if (f.Service == "" || f.Service == svc.Name) && f.InForce(now) {
			rules = append(slices.Clip(rules), freezeRule{
				id: f.ID, source: fmt.Sprintf("freeze %s by %s", f.ID, f.Actor), reason: f.Reason, from: f.StartsAt, to: f.EndsAt,
			})
		}
	}
	if len(rules) > 0 {
		out = append(out, freezeCheck{rules: rules})
	}
	if e.cfg.Policy.Concurrency != nil {
		out = append(out, concurrencyCheck{e: e})
	}
	return out
}

// runControls runs the controls of an ask in order and returns their
// results and what they found in force.
func runControls(ctx context.Context, l *look, checks []check) ([]CheckResult, [numControls]controlState, error) {
	var states [numControls]controlState
	results := make([]CheckResult, 0, len(checks))
	for _, c := range checks {
		r := runCheck(ctx, l, c)
		if r.err != nil {
			return nil, states, r.err
		}
		r.control = true
		switch c.(type) {
		case windowCheck:
			states[ctlWindow] = r.state
		case freezeCheck:
			states[ctlFreeze] = r.state
		case concurrencyCheck:
			states[ctlConcurrency] = r.state
		}
		results = append(results, r)
	}
	return results, states, nil
}

// severity is the patch's severity for the emergency path and the alerts
// check's pause: params.severity, else the patch's discovered event, read
// only when a control or check needs it.
func (e *Engine) severity(ctx context.Context, req Request, need bool) (string, error) {
	sev, given := req.Params[ParamSeverity]
	if given {
		if !slices.Contains(config.Severities, sev) {
			return "", &FieldError{Field: "params." + ParamSeverity, Message: fmt.Sprintf("must be one of %s, got %q", strings.Join(config.Severities, ", "), sev)}
		}
		return sev, nil
	}
	if !need {
		return "", nil
	}
	return e.discoveredSeverity(ctx, req.PatchID)
}

// discoveredSeverity is the severity of the patch's latest discovered
// event that has one, read at most once per ControlsTTL.
func (e *Engine) discoveredSeverity(ctx context.Context, patchID string) (string, error) {
	c := &e.controls
	if s, ok := c.severity.get(patchID); ok && time.Since(s.at) < e.controlsTTL() {
		return s.severity, nil
	}
	es, err := e.cfg.Store.ListEvents(ctx, store.EventFilter{PatchID: patchID, Type: store.EventDiscovered})
	if err != nil {
		return "", fmt.Errorf("load discovered events: %w", err)
	}
	sev := ""
	for _, ev := range es {
		if ev.Severity != "" {
			sev = ev.Severity
		}
	}
	c.severity.put(patchID, severityEntry{severity: sev, at: time.Now()})
	return sev, nil
}

// mostSpecific returns the override in force at now for the ask:
// service+patch+stage beats service+patch beats service+stage beats
// service; among equals the newest wins.
func mostSpecific(os []store.Override, service, patch, stage string, now time.Time) *store.Override {
	var (
		best *store.Override
		rank = -1
	)
	for i := range os {
		o := &os[i]
		if o.Service != service || o.PatchID != "" && o.PatchID != patch || o.Stage != "" && o.Stage != stage || !o.InForce(now) {
			continue
		}
		r := 0
		if o.PatchID != "" {
			r += 2
		}
		if o.Stage != "" {
			r++
		}
		if r > rank || r == rank && o.Seq > best.Seq {
			best, rank = o, r
		}
	}
	return best
}
