package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/slo"
)

// Config builds an Engine.
type Config struct {
	Policy *config.Config
	Source Querier
	Store  Store
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
	cfg Config

	// flights shares a look's evaluation between concurrent asks of it;
	// attemptFlights shares the store read of a stage attempt between
	// concurrent first asks of it.
	flights        flight[lookKey, Decision]
	attemptFlights flight[store.AttemptKey, store.Attempt]

	mu    sync.Mutex
	cache map[store.AttemptKey]cached

	// controls caches the operator's overrides and freezes, severities
	// and concurrency admissions (controls.go).
	controls controlCache

	// policies holds each stage's effective checks and revision, and
	// schedules each service's windows and freezes, compiled once: the
	// configuration does not change while the engine runs.
	policies  map[*config.Stage]policy
	schedules map[string]*schedule

	// renders caches the SLI queries rendered for looks; priors the
	// dispersion read from the hour before each stage.
	renders renders
	priors  priors
}

// policy is a stage's effective checks, the hash naming them, and the
// service's canary and baseline selectors, parsed once.
type policy struct {
	checks           config.Checks
	metrics          []check
	mode             config.Mode
	revision         string
	canary, baseline *slo.SelectorTemplate
}

// lookKey names one look: a stage attempt at one completed minute under
// one policy, with the selectors the ask filled and what the operator
// controls found in force. Asks with equal keys get the same decision.
type lookKey struct {
	attempt          store.AttemptKey
	look             int
	revision         string
	canary, baseline string
	severity         string
	override         string
	controls         [numControls]controlState
}

type cached struct {
	attempt  store.Attempt
	key      lookKey
	decided  bool
	decision Decision
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	e := &Engine{cfg: cfg, cache: map[store.AttemptKey]cached{}, policies: map[*config.Stage]policy{}, schedules: compileSchedules(cfg.Policy)}
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
			e.policies[stage] = policy{
				checks: checks, metrics: metricChecks(checks), mode: svc.EffectiveMode(stage), revision: revision(svc, stage, checks),
				canary: canary, baseline: baseline,
			}
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

// Decide answers one request in four steps: resolve the stage attempt,
// run the checks, decide, record. The operator controls run on every ask;
// the metric checks once per look: asks for the same stage attempt within
// the same completed minute, under the same controls, get the same
// decision (recorded once), and concurrent identical asks share one
// evaluation.
func (e *Engine) Decide(ctx context.Context, req Request) (Decision, error) {
	l, err := e.resolve(ctx, req)
	if err != nil {
		return Decision{}, err
	}
	controls, states, err := runControls(ctx, l, l.controls)
	if err != nil {
		return Decision{}, err
	}
	key := l.key(states)
	if d, ok := e.cached(key); ok {
		return d, nil
	}
	return e.flights.do(key, func() (Decision, error) {
		if d, ok := e.cached(key); ok {
			return d, nil
		}
		// The evaluation belongs to every caller waiting on it: one
		// caller going away must not cancel it for the others.
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.timeout())
		defer cancel()
		metrics, err := e.runMetrics(ectx, l)
		if err != nil {
			return Decision{}, err
		}
		d := e.decision(l, append(metrics, controls...))
		recorded, err := e.record(ectx, key, &d)
		if err != nil {
			return Decision{}, err
		}
		if recorded {
			for _, observe := range e.cfg.Observers {
				observe(d)
			}
		}
		e.remember(key, l.attempt, d)
		return d, nil
	})
}

// resolve checks the request and finds its stage attempt, the look it
// falls in and the operator controls that apply to it.
func (e *Engine) resolve(ctx context.Context, req Request) (*look, error) {
	svc, ok := e.cfg.Policy.Service(req.Service)
	if !ok {
		return nil, &NotFoundError{Field: "service", Value: req.Service}
	}
	stage, ok := svc.Stage(req.Stage)
	if !ok {
		return nil, &NotFoundError{Field: "stage", Value: req.Stage}
	}
	if req.PatchID == "" {
		return nil, &FieldError{Field: "patch_id", Message: "is required"}
	}
	now := e.cfg.Now()
	attempt := attemptOf(req)
	start, startSource := now, "first_ask"
	if v, ok := req.Params[ParamStageStartedAt]; ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, &FieldError{Field: "params." + ParamStageStartedAt, Message: "must be an RFC 3339 time such as 2026-11-26T10:00:00Z"}
		}
		if t.After(now) {
			return nil, &FieldError{Field: "params." + ParamStageStartedAt, Message: "is in the future"}
		}
		start, startSource = t, "request"
	}
	vars := slo.Vars{Service: svc.Name, PatchID: req.PatchID, Stage: stage.Name, Attempt: attempt, Params: req.Params}
	pol := e.policies[stage]
	canary, err := selector(pol.canary, "canary", vars)
	if err != nil {
		return nil, err
	}
	baseline, err := selector(pol.baseline, "baseline", vars)
	if err != nil {
		return nil, err
	}
	cluster, hosts, err := rolloutParams(e.cfg.Policy, req)
	if err != nil {
		return nil, err
	}
	overrides, apiFreezes, err := e.snapshot(ctx, now)
	if err != nil {
		return nil, err
	}
	sched := e.schedules[svc.Name]
	controls := e.controlChecks(sched, apiFreezes, svc, now)

	// The patch's severity is read only when a control or check needs it.
	emergencyApplies := len(sched.emergency) > 0 && slices.ContainsFunc(controls, func(c check) bool {
		_, w := c.(windowCheck)
		_, f := c.(freezeCheck)
		return w || f
	})
	pause := pol.checks.Alerts != nil && len(pol.checks.Alerts.PauseNonCritical) > 0
	severity, err := e.severity(ctx, req, emergencyApplies || pause)
	if err != nil {
		return nil, err
	}
	emergency := ""
	if emergencyApplies && slices.Contains(sched.emergency, severity) {
		emergency = severity
	}

	key := store.AttemptKey{Service: svc.Name, PatchID: req.PatchID, Stage: stage.Name, Attempt: attempt}
	at, cachedAttempt, err := e.attempt(ctx, key, start, startSource, now)
	if err != nil {
		return nil, err
	}
	evalAt := now.Add(-time.Duration(e.cfg.Policy.Source.EvaluationDelay))
	K := max(int(time.Duration(stage.MaxWait)/time.Minute), 1)
	k := 0
	if evalAt.After(at.Start) {
		k = min(int(evalAt.Sub(at.Start)/time.Minute), K)
	}
	return &look{
		logger: e.cfg.Logger, render: &e.renders, priors: &e.priors, now: now, req: req, revision: pol.revision, mode: pol.mode,
		service: svc, stage: stage, checks: pol.checks, metrics: pol.metrics, controls: controls,
		vars: vars, canary: canary, baseline: baseline, canaryText: selectorText(canary), baselineText: selectorText(baseline),
		severity: severity, emergency: emergency, cluster: cluster, hosts: hosts,
		override: mostSpecific(overrides, svc.Name, req.PatchID, stage.Name, now),
		attempt:  at, attemptCached: cachedAttempt, start: at.Start, at: evalAt, k: k, K: K,
		outcome: at.Outcome, outcomeLook: at.OutcomeLook,
	}, nil
}

// attempt returns the stage attempt as last read from the store, reading
// (or creating) it on its first ask on this replica.
func (e *Engine) attempt(ctx context.Context, key store.AttemptKey, start time.Time, startSource string, now time.Time) (at store.Attempt, cached bool, err error) {
	e.mu.Lock()
	c, known := e.cache[key]
	e.mu.Unlock()
	if known {
		return c.attempt, true, nil
	}
	if startSource == "first_ask" {
		t, ok, err := e.eventStart(ctx, key, now)
		if err != nil {
			return store.Attempt{}, false, err
		}
		if ok {
			start, startSource = t, "event"
		}
	}
	// Concurrent first asks of one attempt share one store write.
	at, err = e.attemptFlights.do(key, func() (store.Attempt, error) {
		// A flight that ended since this ask looked has cached it.
		e.mu.Lock()
		c, known := e.cache[key]
		e.mu.Unlock()
		if known {
			return c.attempt, nil
		}
		at, err := e.cfg.Store.EnsureAttempt(context.WithoutCancel(ctx), store.Attempt{AttemptKey: key, Start: start, StartSource: startSource, FirstAsk: now})
		if err == nil {
			e.rememberAttempt(at)
		}
		return at, err
	})
	if err != nil {
		return store.Attempt{}, false, fmt.Errorf("load stage attempt: %w", err)
	}
	return at, false, nil
}

// key names the look of an ask under the controls' states.
func (l *look) key(states [numControls]controlState) lookKey {
	k := lookKey{
		attempt: l.attempt.AttemptKey, look: l.k, revision: l.revision,
		canary: l.canaryText, baseline: l.baselineText,
		severity: l.severity, controls: states,
	}
	if l.override != nil {
		k.override = l.override.ID
	}
	return k
}

func selectorText(ms []*labels.Matcher) string {
	if len(ms) == 0 {
		return ""
	}
	return (&parser.VectorSelector{LabelMatchers: ms}).String()
}

// runMetrics runs the stage's metric checks on the look and stores the
// sequential test's outcome once one is reached.
func (e *Engine) runMetrics(ctx context.Context, l *look) ([]CheckResult, error) {
	if l.attemptCached {
		// Another replica may have reached the sequential outcome since
		// this one cached the attempt: read it again.
		fresh, err := e.cfg.Store.EnsureAttempt(ctx, l.attempt)
		if err != nil {
			return nil, fmt.Errorf("load stage attempt: %w", err)
		}
		l.attempt, l.outcome, l.outcomeLook = fresh, fresh.Outcome, fresh.OutcomeLook
	}
	l.src = newMemo(e.cfg.Source)
	results := runChecks(ctx, l, l.metrics)
	for _, r := range results {
		if r.outcome != "" && l.outcome == "" {
			stored, err := e.cfg.Store.SetOutcome(ctx, l.attempt.AttemptKey, r.outcome, max(l.k, 1))
			if err != nil {
				return nil, fmt.Errorf("store sequential outcome: %w", err)
			}
			l.outcome, l.outcomeLook = stored.Outcome, stored.OutcomeLook
		}
	}
	l.attempt.Outcome, l.attempt.OutcomeLook = l.outcome, l.outcomeLook
	return results, nil
}

// decision is the answer to a look from its check results.
func (e *Engine) decision(l *look, results []CheckResult) Decision {
	out := decide(results, rules{
		timedOut: l.k >= l.K, onTimeout: Verdict(l.stage.OnTimeout), maxWait: l.stage.MaxWait, override: l.override,
		answerFutility: l.stage.OnFutility == config.FutilityAnswer,
	})
	dropNonFinite(results)
	d := Decision{
		Decision: out.verdict, Reason: out.reason, Checks: results, Override: out.override,
		Service: l.service.Name, PatchID: l.vars.PatchID, Stage: l.stage.Name, Attempt: l.vars.Attempt,
		PolicyRevision: l.revision, EvaluatedAt: l.now,
		Window: Window{Start: l.start, StartSource: l.attempt.StartSource, End: l.lookEnd(l.k), Look: l.k, Looks: l.K},
	}
	switch {
	case out.timedOut:
		d.Outcome = OutcomeTimeout
	case out.futile:
		d.Outcome = OutcomeFutility
	}
	if d.Decision == Wait {
		retry := 1
		for _, r := range results {
			if r.Verdict == Inconclusive {
				if r.control {
					retry = max(retry, r.retry)
					continue
				}
				next := l.start.Add(time.Duration(l.k+1)*time.Minute + time.Duration(e.cfg.Policy.Source.EvaluationDelay))
				retry = max(retry, int(next.Sub(l.now).Seconds()+0.999))
			}
		}
		d.RetryAfterSeconds = retry
	}
	d.Mode = ModeEnforce
	if l.mode == config.ModeShadow {
		d = shadow(d)
	}
	return d
}

// shadow answers go for a stage in shadow mode, with the verdict the gate
// evaluated beside it. An override is a person's decision and is
// enforced in shadow mode too.
func shadow(d Decision) Decision {
	d.Mode = ModeShadow
	if d.Override != nil {
		return d
	}
	d.Shadow = &Shadow{Decision: d.Decision, Reason: d.Reason, RetryAfterSeconds: d.RetryAfterSeconds}
	d.Reason = fmt.Sprintf("shadow mode: the gate evaluated %s and answers go without enforcing it: %s", d.Decision, d.Reason)
	d.Decision, d.RetryAfterSeconds = Go, 0
	return d
}

func (e *Engine) timeout() time.Duration {
	t := time.Duration(e.cfg.Policy.Source.Timeout)
	if t <= 0 {
		t = time.Duration(config.DefaultSourceTimeout)
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

// record writes d to the store under its look. When another replica
// recorded the look first, d becomes that decision and recorded is false:
// one decision per look across replicas.
func (e *Engine) record(ctx context.Context, key lookKey, d *Decision) (recorded bool, err error) {
	id, err := uuid.NewV7()
	if err != nil {
		return false, fmt.Errorf("decision id: %w", err)
	}
	d.ID = id.String()
	if s, ok := e.cfg.Store.(interface{ KeepsNoDecisions() bool }); ok && s.KeepsNoDecisions() {
		return true, nil // nothing to encode for a store that keeps nothing (a backtest's)
	}
	body, err := json.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("encode decision: %w", err)
	}
	stored, err := e.cfg.Store.AppendDecision(ctx, store.Decision{
		ID: d.ID, Service: d.Service, PatchID: d.PatchID, Stage: d.Stage, Attempt: d.Attempt,
		Verdict: string(d.Decision), EvaluatedAt: d.EvaluatedAt, Body: body, LookKey: key.id(),
	})
	if err != nil {
		return false, fmt.Errorf("record decision: %w", err)
	}
	if stored.ID == d.ID {
		return true, nil
	}
	var first Decision
	if err := json.Unmarshal(stored.Body, &first); err != nil {
		return false, fmt.Errorf("read the look's decision %s: %w", stored.ID, err)
	}
	*d = first
	return false, nil
}

// id names the look in the store: a hash of every field of the key.
func (k lookKey) id() string {
	h := sha256.Sum256(fmt.Appendf(nil, "%#v", k))
	return hex.EncodeToString(h[:])
}

// rememberAttempt keeps a stage attempt read from the store until its
// first look is evaluated, so later asks need not read it again.
func (e *Engine) rememberAttempt(at store.Attempt) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cache[at.AttemptKey]; !ok && len(e.cache) < e.cfg.CacheSize {
		e.cache[at.AttemptKey] = cached{attempt: at}
	}
}

func (e *Engine) cached(key lookKey) (Decision, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.cache[key.attempt]
	if !ok || !c.decided || c.key != key {
		return Decision{}, false
	}
	return c.decision, true
}

func (e *Engine) remember(key lookKey, at store.Attempt, d Decision) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cache[key.attempt]; !ok && len(e.cache) >= e.cfg.CacheSize {
		// Forget the stalest attempt: caches only save work.
		var oldest store.AttemptKey
		var t time.Time
		first := true
		for k, c := range e.cache {
			if first || c.decision.EvaluatedAt.Before(t) {
				oldest, t, first = k, c.decision.EvaluatedAt, false
			}
		}
		delete(e.cache, oldest)
	}
	e.cache[key.attempt] = cached{attempt: at, key: key, decided: true, decision: d}
}

// revision is a short hash of the effective policy of a stage.
func revision(svc *config.Service, stage *config.Stage, checks config.Checks) string {
	b, _ := json.Marshal(struct {
		SLI     config.SLI
		SLO     config.SLO
		Stage   string
		MaxWait config.Duration
		Timeout config.Verdict
		Checks  config.Checks
		Mode    config.Mode `json:",omitempty"`
		// Futility is named only when it is not the default, so that
		// revisions made before on_futility existed stay what they were.
		Futility config.OnFutility `json:",omitempty"`
	}{svc.SLI, svc.SLO, stage.Name, stage.MaxWait, stage.OnTimeout, checks, shadowOnly(svc.EffectiveMode(stage)), nonDefault(stage.OnFutility)})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])[:12]
}

// shadowOnly names the mode in a revision only when it is shadow, so that
// the revisions of enforced stages stay what they were.
func shadowOnly(m config.Mode) config.Mode {
	if m == config.ModeShadow {
		return m
	}
	return ""
}

func nonDefault(f config.OnFutility) config.OnFutility {
	if f == config.DefaultOnFutility {
		return ""
	}
	return f
}
