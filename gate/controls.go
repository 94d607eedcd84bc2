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

// controlState is what the engine keeps of the operator controls: the
// compiled schedules and a short-lived copy of the overrides and freezes
// in force.
type controlState struct {
	compileOnce sync.Once
	schedules   map[string]*schedule
	compileErr  error

	mu        sync.Mutex
	loadedAt  time.Time // by the wall clock; zero when stale
	overrides []store.Override
	freezes   []store.Freeze
	severity  map[string]severityEntry // by patch id

	admissions admissionCache
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

func (e *Engine) schedule(svc *config.Service) (*schedule, error) {
	c := &e.controls
	c.compileOnce.Do(func() {
		c.schedules, c.compileErr = compileSchedules(e.cfg.Policy)
	})
	if c.compileErr != nil {
		return nil, fmt.Errorf("operator controls: %w", c.compileErr)
	}
	return c.schedules[svc.Name], nil
}

// controlled is what the operator controls add to one ask: the checks
// they ran and the override in force. key changes whenever the answer
// would, so a cached look is only reused while it is the same.
type controlled struct {
	checks   []CheckResult
	retry    int
	override *store.Override
	key      string
}

// controlsFor runs the operator controls for one ask at now.
func (e *Engine) controlsFor(ctx context.Context, req Request, svc *config.Service, stage *config.Stage, now time.Time) (*controlled, error) {
	sched, err := e.schedule(svc)
	if err != nil {
		return nil, err
	}
	overrides, apiFreezes, err := e.snapshot(ctx, now)
	if err != nil {
		return nil, err
	}
	c := &controlled{}
	var key strings.Builder

	if o := mostSpecific(overrides, svc.Name, req.PatchID, stage.Name, now); o != nil {
		c.override = o
		fmt.Fprintf(&key, "o:%s;", o.ID)
	}

	rules := sched.freezes
	for _, f := range apiFreezes {
		if (f.Service == "" || f.Service == svc.Name) && f.InForce(now) {
			rules = append(slices.Clip(rules), freezeRule{
				source: fmt.Sprintf("freeze %s by %s", f.ID, f.Actor), reason: f.Reason, from: f.StartsAt, to: f.EndsAt,
			})
		}
	}
	if len(sched.windows) > 0 || len(rules) > 0 {
		emergency, err := e.emergency(ctx, req, sched, now)
		if err != nil {
			return nil, err
		}
		if len(sched.windows) > 0 {
			r, retry := sched.windowCheck(now, emergency)
			c.checks = append(c.checks, r)
			c.retry = max(c.retry, retry)
			fmt.Fprintf(&key, "w:%s;", r.Verdict)
		}
		if len(rules) > 0 {
			r := freezeCheck(rules, now, emergency)
			c.checks = append(c.checks, r)
			fmt.Fprintf(&key, "f:%s:%s;", r.Verdict, r.Sentence)
		}
	}

	if e.cfg.Policy.Concurrency != nil {
		r, retry, err := e.concurrencyCheck(ctx, req, svc, now)
		if err != nil {
			return nil, err
		}
		c.checks = append(c.checks, r)
		c.retry = max(c.retry, retry)
		fmt.Fprintf(&key, "c:%s:%g;", r.Verdict, r.Details["position"])
	}
	c.key = key.String()
	return c, nil
}

// emergency returns the patch's severity when the policy lets it through
// windows and freezes, else "".
func (e *Engine) emergency(ctx context.Context, req Request, sched *schedule, now time.Time) (string, error) {
	sev, given := req.Params[ParamSeverity]
	if given && !slices.Contains(config.Severities, sev) {
		return "", &FieldError{Field: "params." + ParamSeverity, Message: fmt.Sprintf("must be one of %s, got %q", strings.Join(config.Severities, ", "), sev)}
	}
	if len(sched.emergency) == 0 {
		return "", nil
	}
	if !given {
		var err error
		if sev, err = e.discoveredSeverity(ctx, req.PatchID); err != nil {
			return "", err
		}
	}
	if slices.Contains(sched.emergency, sev) {
		return sev, nil
	}
	return "", nil
}

// discoveredSeverity is the severity of the patch's latest discovered
// event that has one, read at most once per ControlsTTL.
func (e *Engine) discoveredSeverity(ctx context.Context, patchID string) (string, error) {
	c := &e.controls
	c.mu.Lock()
	if s, ok := c.severity[patchID]; ok && time.Since(s.at) < e.controlsTTL() {
		c.mu.Unlock()
		return s.severity, nil
	}
	c.mu.Unlock()
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
	c.mu.Lock()
	if c.severity == nil || len(c.severity) > 10000 {
		c.severity = map[string]severityEntry{}
	}
	c.severity[patchID] = severityEntry{severity: sev, at: time.Now()}
	c.mu.Unlock()
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

// apply adds the controls' checks to a decision of the checks and lets
// them and the override decide.
func (c *controlled) apply(d Decision) Decision {
	if len(c.checks) > 0 {
		d.Checks = append(slices.Clip(d.Checks), c.checks...)
		var failed, waiting []CheckResult
		for _, r := range c.checks {
			switch r.Verdict {
			case Fail:
				failed = append(failed, r)
			case Inconclusive:
				waiting = append(waiting, r)
			}
		}
		switch {
		case d.Decision == NoGo:
		case len(failed) > 0:
			d.Decision, d.Reason, d.RetryAfterSeconds = NoGo, summarise(failed, "failed")+"; checks: "+d.Reason, 0
		case len(waiting) > 0:
			if d.Decision == Go {
				d.Reason = summarise(waiting, "inconclusive") + "; the other checks passed: " + d.Reason
			} else {
				d.Reason = summarise(waiting, "inconclusive") + "; also: " + d.Reason
			}
			d.Decision = Wait
			d.RetryAfterSeconds = max(d.RetryAfterSeconds, c.retry, 1)
		}
	}
	if o := c.override; o != nil {
		verdict := Verdict(o.Verdict)
		bypassed := []string{}
		for _, r := range d.Checks {
			if verdict == Go && r.Verdict != Pass || verdict == NoGo && r.Verdict == Pass {
				bypassed = append(bypassed, r.Name)
			}
		}
		reason := fmt.Sprintf("overridden by %s until %s: %s", o.Actor, o.ExpiresAt.UTC().Format(time.RFC3339), o.Reason)
		if len(bypassed) > 0 {
			reason += fmt.Sprintf("; bypassed checks: %s", strings.Join(bypassed, ", "))
		} else {
			reason += "; no check disagreed"
		}
		d.Reason = reason + "; the checks said " + string(d.Decision) + ": " + d.Reason
		d.Decision = verdict
		d.RetryAfterSeconds = 0
		d.Override = &OverrideInfo{ID: o.ID, Actor: o.Actor, Reason: o.Reason, ExpiresAt: o.ExpiresAt, BypassedChecks: bypassed}
	}
	return d
}
