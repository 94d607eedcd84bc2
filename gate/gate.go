package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"golang.org/x/sync/singleflight"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/slo"
)

// Config builds an Engine.
type Config struct {
	Policy *config.Config
	Source Querier
	Store  store.Store
	// Now is the clock (default time.Now); the demo runs a simulated one.
	Now    func() time.Time
	Logger *slog.Logger
	// CacheSize bounds the number of stage attempts whose current look is
	// kept in memory (default 10,000).
	CacheSize int
	// Observers are told of every new decision once it is recorded (not of
	// answers repeated from a look). They run on the decision path and
	// must not block: queue the work (Grafana annotations do).
	Observers []func(Decision)
	// ControlsTTL is how long overrides and freezes read from the store are
	// reused (default DefaultControlsTTL; negative: read on every ask).
	ControlsTTL time.Duration
}

func (c *Config) defaults() error {
	if c.Policy == nil {
		return errors.New("a policy (configuration) is required")
	}
	if c.Source == nil {
		return errors.New("a metric source is required")
	}
	if c.Store == nil {
		return errors.New("a store is required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.CacheSize <= 0 {
		c.CacheSize = 10000
	}
	return nil
}

// Engine answers gate requests.
type Engine struct {
	cfg     Config
	flights singleflight.Group
	// attemptFlights shares the store read of a stage attempt between
	// concurrent first asks of it.
	attemptFlights singleflight.Group

	mu    sync.Mutex
	cache map[string]cached // by stage attempt

	// controls are the operator's overrides, windows, freezes and
	// concurrency limit (controls.go).
	controls controlState

	// policies holds each stage's effective checks and revision, computed
	// once: the configuration does not change while the engine runs.
	policies map[*config.Stage]policy
}

// policy is a stage's effective checks, the hash naming them, and the
// service's canary and baseline selectors, parsed once.
type policy struct {
	checks           config.Checks
	revision         string
	canary, baseline *slo.SelectorTemplate
}

type cached struct {
	attempt  store.Attempt
	key      string // look key: attempt, look, revision
	decision Decision
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	e := &Engine{cfg: cfg, cache: map[string]cached{}, policies: map[*config.Stage]policy{}}
	for i := range cfg.Policy.Services {
		svc := &cfg.Policy.Services[i]
		canary, err := slo.ParseSelector(svc.SLI.Canary)
		if err != nil {
			return nil, fmt.Errorf("invalid configuration: service %s: %w", svc.Name, err)
		}
		baseline, err := slo.ParseSelector(svc.SLI.Baseline)
		if err != nil {
			return nil, fmt.Errorf("invalid configuration: service %s: %w", svc.Name, err)
		}
		for j := range svc.Stages {
			stage := &svc.Stages[j]
			checks := svc.EffectiveChecks(stage)
			e.policies[stage] = policy{checks: checks, revision: revision(svc, stage, checks), canary: canary, baseline: baseline}
		}
	}
	return e, nil
}

// Params the gate reads itself; any other parameter is only available to
// selector templates as {{.params.NAME}}.
const (
	ParamAttempt        = "attempt"
	ParamCanaryHash     = "canary_hash"
	ParamStageStartedAt = "stage_started_at"
)

// Decide answers one request. Asks for the same stage attempt within the
// same completed minute get the same decision (recorded once); concurrent
// identical asks share one evaluation.
func (e *Engine) Decide(ctx context.Context, req Request) (Decision, error) {
	svc, ok := e.cfg.Policy.Service(req.Service)
	if !ok {
		return Decision{}, &NotFoundError{Field: "service", Value: req.Service}
	}
	stage, ok := svc.Stage(req.Stage)
	if !ok {
		return Decision{}, &NotFoundError{Field: "stage", Value: req.Stage}
	}
	if req.PatchID == "" {
		return Decision{}, &FieldError{Field: "patch_id", Message: "is required"}
	}
	now := e.cfg.Now()
	attempt := attemptOf(req)
	start, startSource := now, "first_ask"
	if v, ok := req.Params[ParamStageStartedAt]; ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return Decision{}, &FieldError{Field: "params." + ParamStageStartedAt, Message: "must be an RFC 3339 time such as 2026-11-26T10:00:00Z"}
		}
		if t.After(now) {
			return Decision{}, &FieldError{Field: "params." + ParamStageStartedAt, Message: "is in the future"}
		}
		start, startSource = t, "request"
	}
	vars := slo.Vars{Service: svc.Name, PatchID: req.PatchID, Stage: stage.Name, Attempt: attempt, Params: req.Params}
	pol := e.policies[stage]
	canary, err := selector(pol.canary, "canary", vars)
	if err != nil {
		return Decision{}, err
	}
	baseline, err := selector(pol.baseline, "baseline", vars)
	if err != nil {
		return Decision{}, err
	}
	checks, rev := pol.checks, pol.revision
	key := store.AttemptKey{Service: svc.Name, PatchID: req.PatchID, Stage: stage.Name, Attempt: attempt}
	attemptID := fmt.Sprintf("%s\x00%s\x00%s\x00%s", key.Service, key.PatchID, key.Stage, key.Attempt)
	at, known := e.attempt(attemptID)
	if !known {
		if startSource == "first_ask" {
			if t, ok, err := e.eventStart(ctx, key, now); err != nil {
				return Decision{}, err
			} else if ok {
				start, startSource = t, "event"
			}
		}
		// Concurrent first asks of one attempt share one store write.
		v, err, _ := e.attemptFlights.Do(attemptID, func() (any, error) {
			at, err := e.cfg.Store.EnsureAttempt(context.WithoutCancel(ctx), store.Attempt{AttemptKey: key, Start: start, StartSource: startSource, FirstAsk: now})
			if err == nil {
				e.rememberAttempt(attemptID, at)
			}
			return at, err
		})
		if err != nil {
			return Decision{}, fmt.Errorf("load stage attempt: %w", err)
		}
		at = v.(store.Attempt)
	}

	evalAt := now.Add(-time.Duration(e.cfg.Policy.Source.EvaluationDelay))
	K := max(int(time.Duration(stage.MaxWait)/time.Minute), 1)
	k := 0
	if evalAt.After(at.Start) {
		k = min(int(evalAt.Sub(at.Start)/time.Minute), K)
	}
	// The filled selectors are part of the key: two asks of one attempt
	// whose parameters select different series must not share a look.
	lookKey := fmt.Sprintf("%s\x00%d\x00%s\x00%v\x00%v", attemptID, k, rev, canary, baseline)
	// Overrides, windows, freezes and the concurrency limit apply on every
	// ask: a look is reused only while they answer the same.
	ctl, err := e.controlsFor(ctx, req, svc, stage, now)
	if err != nil {
		return Decision{}, err
	}
	lookKey += "\x00" + ctl.key
	severity := req.Params[ParamSeverity]
	if a := checks.Alerts; a != nil && len(a.PauseNonCritical) > 0 && severity == "" {
		if severity, err = e.discoveredSeverity(ctx, req.PatchID); err != nil {
			return Decision{}, err
		}
	}
	lookKey += "\x00" + severity
	if d, ok := e.cached(attemptID, lookKey); ok {
		return d, nil
	}
	v, err, _ := e.flights.Do(lookKey, func() (any, error) {
		if d, ok := e.cached(attemptID, lookKey); ok {
			return d, nil
		}
		if known {
			// Another replica may have reached the sequential outcome
			// since this one cached the attempt: read it again.
			fresh, err := e.cfg.Store.EnsureAttempt(ctx, at)
			if err != nil {
				return Decision{}, fmt.Errorf("load stage attempt: %w", err)
			}
			at = fresh
		}
		// The evaluation belongs to every caller waiting on it: one
		// caller going away must not cancel it for the others.
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout())
		defer cancel()
		l := &look{
			severity: severity,
			src:      newMemo(e.cfg.Source), service: svc, stage: stage, checks: checks,
			vars: vars, canary: canary, baseline: baseline,
			start: at.Start, at: evalAt, k: k, K: K,
			outcome: at.Outcome, outcomeLook: at.OutcomeLook,
		}
		d, err := e.evaluate(ectx, l, checks, req)
		if err != nil {
			return Decision{}, err
		}
		d.Attempt, d.PolicyRevision, d.EvaluatedAt = attempt, rev, now
		d.Window = Window{Start: at.Start, StartSource: at.StartSource, End: l.lookEnd(k), Look: k, Looks: K}
		if d.Decision == Wait {
			next := at.Start.Add(time.Duration(k+1)*time.Minute + time.Duration(e.cfg.Policy.Source.EvaluationDelay))
			d.RetryAfterSeconds = max(int(next.Sub(now).Seconds()+0.999), 1)
		}
		d = ctl.apply(d)
		if err := e.record(ectx, &d); err != nil {
			return Decision{}, err
		}
		for _, observe := range e.cfg.Observers {
			observe(d)
		}
		at.Outcome, at.OutcomeLook = l.outcome, l.outcomeLook
		e.remember(attemptID, lookKey, at, d)
		return d, nil
	})
	if err != nil {
		return Decision{}, err
	}
	return v.(Decision), nil
}

func (e *Engine) timeout() time.Duration {
	t := time.Duration(e.cfg.Policy.Source.Timeout)
	if t <= 0 {
		t = 10 * time.Second
	}
	return t + 5*time.Second
}

// selector fills a configured selector from the request. A parameter the
// selector needs but the request lacks is the request's fault (422).
func selector(sel *slo.SelectorTemplate, which string, vars slo.Vars) ([]*labels.Matcher, error) {
	ms, err := sel.Fill(vars)
	var missing *slo.MissingParamError
	if errors.As(err, &missing) {
		return nil, &FieldError{Field: "params." + missing.Param, Message: "is required by the service's " + which + " selector"}
	}
	if err != nil {
		return nil, fmt.Errorf("%s selector: %w", which, err)
	}
	return ms, nil
}

func attemptOf(req Request) string {
	for _, p := range []string{ParamAttempt, ParamCanaryHash} {
		if v := req.Params[p]; v != "" {
			return v
		}
	}
	return "1"
}

// evaluate runs every check concurrently and combines them.
func (e *Engine) evaluate(ctx context.Context, l *look, cfg config.Checks, req Request) (Decision, error) {
	checks := checksFor(cfg)
	results := make([]CheckResult, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.run(ctx, l)
		}()
	}
	wg.Wait()
	verdict, reason := combine(results)
	if verdict == Wait && l.k >= l.K {
		verdict, reason = e.timedOut(l, results, reason)
	}
	for _, r := range results {
		if r.outcome != "" && l.outcome == "" {
			key := store.AttemptKey{Service: l.service.Name, PatchID: req.PatchID, Stage: l.stage.Name, Attempt: l.vars.Attempt}
			stored, err := e.cfg.Store.SetOutcome(ctx, key, r.outcome, max(l.k, 1))
			if err != nil {
				return Decision{}, fmt.Errorf("store sequential outcome: %w", err)
			}
			l.outcome, l.outcomeLook = stored.Outcome, stored.OutcomeLook
		}
	}
	return Decision{
		Decision: verdict, Reason: reason, Checks: results,
		Service: l.service.Name, PatchID: req.PatchID, Stage: l.stage.Name,
	}, nil
}

// timedOut turns a wait at the end of max_wait into the policy's answer.
// A wait for want of data or because the source failed is never turned
// into go.
func (e *Engine) timedOut(l *look, results []CheckResult, reason string) (Verdict, string) {
	answer := Verdict(l.stage.OnTimeout)
	if answer == "" {
		answer = NoGo
	}
	if answer == Go {
		for _, r := range results {
			if r.Verdict == Inconclusive && r.Details[missingData] == 1 {
				answer = NoGo
				break
			}
		}
	}
	return answer, fmt.Sprintf("stage still inconclusive after max_wait %s, so the policy answers %s: %s",
		model.Duration(l.stage.MaxWait), answer, reason)
}

func (e *Engine) record(ctx context.Context, d *Decision) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("decision id: %w", err)
	}
	d.ID = id.String()
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode decision: %w", err)
	}
	_, err = e.cfg.Store.AppendDecision(ctx, store.Decision{
		ID: d.ID, Service: d.Service, PatchID: d.PatchID, Stage: d.Stage, Attempt: d.Attempt,
		Verdict: string(d.Decision), EvaluatedAt: d.EvaluatedAt, Body: body,
	})
	if err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return nil
}

// attempt returns the stage attempt as last read from the store.
func (e *Engine) attempt(attemptID string) (store.Attempt, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.cache[attemptID]
	return c.attempt, ok
}

// rememberAttempt keeps a stage attempt read from the store until its
// first look is evaluated, so later asks need not read it again.
func (e *Engine) rememberAttempt(attemptID string, at store.Attempt) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cache[attemptID]; !ok && len(e.cache) < e.cfg.CacheSize {
		e.cache[attemptID] = cached{attempt: at}
	}
}

func (e *Engine) cached(attemptID, lookKey string) (Decision, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.cache[attemptID]
	if !ok || c.key != lookKey {
		return Decision{}, false
	}
	return c.decision, true
}

func (e *Engine) remember(attemptID, lookKey string, at store.Attempt, d Decision) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cache[attemptID]; !ok && len(e.cache) >= e.cfg.CacheSize {
		// Forget the stalest attempt: caches only save work.
		var oldest string
		var t time.Time
		for k, c := range e.cache {
			if oldest == "" || c.decision.EvaluatedAt.Before(t) {
				oldest, t = k, c.decision.EvaluatedAt
			}
		}
		delete(e.cache, oldest)
	}
	e.cache[attemptID] = cached{attempt: at, key: lookKey, decision: d}
}

// revision is a short hash of the effective policy of a stage.
func revision(svc *config.Service, stage *config.Stage, checks config.Checks) string {
	b, _ := json.Marshal(struct {
		SLI     config.SLI
		SLO     config.SLO
		Stage   string
		MaxWait config.Duration
		Timeout string
		Checks  config.Checks
	}{svc.SLI, svc.SLO, stage.Name, stage.MaxWait, stage.OnTimeout, checks})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])[:12]
}
