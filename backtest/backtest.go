package backtest

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
)

// Config is one backtest run.
type Config struct {
	// Policy is the configuration replayed.
	Policy *config.Config
	// Source is the metric source holding the past.
	Source gate.Querier
	// Now is the clock (default time.Now): stages are replayed up to it.
	Now func() time.Time
	// Workers is how many stages are replayed at once (default 4).
	Workers int
	// Progress, when set, is told after each stage.
	Progress func(done, total int)
}

// Verdict is a stage's replayed answer.
type Verdict struct {
	// Decision is the verdict the gate evaluated in the end: go or no_go,
	// or wait when the stage's data ends before one was reached. In shadow
	// mode it is the evaluated verdict, not the go answered.
	Decision gate.Verdict `json:"decision"`
	// Minute is the look that decided (1-based).
	Minute int `json:"minute"`
	// TimedOut is true when the answer is the stage's on_timeout: at
	// max_wait, or earlier when no decision was within reach (Outcome
	// says which: "timeout" or "futility").
	TimedOut bool   `json:"timed_out"`
	Outcome  string `json:"outcome,omitempty"`
	Reason   string `json:"reason"`
	// CanaryRequests is what the canary served up to the deciding look
	// (as error_delta or min_traffic counted it; 0 when neither ran).
	CanaryRequests float64 `json:"canary_requests"`
	Mode           string  `json:"mode"`
	// Timeline is the evaluated verdict at each look, from minute 1.
	Timeline []gate.Verdict `json:"timeline"`
	// Queries is how many range queries the replay sent.
	Queries int `json:"queries"`
}

// Result is one stage's replay.
type Result struct {
	Service   string            `json:"service"`
	PatchID   string            `json:"patch_id"`
	Stage     string            `json:"stage"`
	StartedAt time.Time         `json:"started_at"`
	EndedAt   *time.Time        `json:"ended_at,omitempty"`
	Params    map[string]string `json:"params"`
	Verdict
	// Compare is the same stage under the second policy (--compare).
	Compare *Verdict `json:"compare,omitempty"`
	// Line is the stage's line in the stages file (0 from the store).
	Line int `json:"line,omitempty"`
	// RolledBack says the rollout was rolled back or tied to an incident
	// after the stage (stages from the store only).
	RolledBack bool `json:"rolled_back,omitempty"`
}

// Notes are the things a backtest cannot replay, said once per run.
func Notes(c *config.Config) []string {
	notes := []string{"overrides and freezes made through the API are not replayed: only the configuration's windows and freezes, as of each stage's times"}
	if c.Concurrency != nil {
		notes = append(notes, "the concurrency limit is skipped: the fleet's state at those times is not recorded")
	}
	return notes
}

// Run replays stages under one policy. A stage whose service or stage the
// policy lacks, or whose request the gate refuses, is an error of that
// stage; the others still run.
func Run(ctx context.Context, cfg Config, stages []Stage) ([]Verdict, []error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	workers := max(cfg.Workers, 1)
	if cfg.Workers == 0 {
		workers = 4
	}
	policy := *cfg.Policy
	policy.Concurrency = nil
	out := make([]Verdict, len(stages))
	errs := make([]error, len(stages))
	next := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i], errs[i] = replaySafely(ctx, &policy, cfg.Source, stages[i], cfg.Now())
				mu.Lock()
				done++
				if cfg.Progress != nil {
					cfg.Progress(done, len(stages))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range stages {
		select {
		case next <- i:
		case <-ctx.Done():
			errs[i] = ctx.Err()
		}
	}
	close(next)
	wg.Wait()
	return out, errs
}

func replaySafely(ctx context.Context, policy *config.Config, src gate.Querier, s Stage, now time.Time) (v Verdict, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: panic: %v\n%s", r, debug.Stack())
		}
	}()
	return replay(ctx, policy, src, s, now)
}

// replay asks the gate once a minute over the stage's past, on an engine
// of its own over an in-memory store, until the first go or no_go.
func replay(ctx context.Context, policy *config.Config, src gate.Querier, s Stage, now time.Time) (Verdict, error) {
	svc, ok := policy.Service(s.Service)
	if !ok {
		return Verdict{}, &gate.NotFoundError{Field: "service", Value: s.Service}
	}
	st, ok := svc.Stage(s.Stage)
	if !ok {
		return Verdict{}, &gate.NotFoundError{Field: "stage", Value: s.Stage}
	}
	looks := max(int(time.Duration(st.MaxWait)/time.Minute), 1)
	delay := time.Duration(policy.Source.EvaluationDelay)
	pf := NewPrefetch(src, s.StartedAt.Add(time.Minute), s.StartedAt.Add(time.Duration(looks)*time.Minute))
	var clock time.Time
	engine := func(src gate.Querier) (*gate.Engine, error) {
		return gate.New(gate.Config{
			Policy: policy, Source: src, Store: gate.NewMemoryStore(), ControlsTTL: time.Hour,
			Now: func() time.Time { return clock },
		})
	}
	params := map[string]string{gate.ParamStageStartedAt: s.StartedAt.UTC().Format(time.RFC3339Nano)}
	for k, v := range s.Params {
		params[k] = v
	}
	req := gate.Request{Service: s.Service, PatchID: s.PatchID, Stage: s.Stage, Params: params}

	// One look over a source that answers at once tells every query the
	// stage needs; they are then fetched together.
	found := &discovery{}
	e, err := engine(found)
	if err != nil {
		return Verdict{}, err
	}
	clock = s.StartedAt.Add(time.Minute + delay)
	if _, err := e.Decide(ctx, req); err != nil {
		return Verdict{}, err
	}
	pf.Warm(ctx, found.queries)

	if e, err = engine(pf); err != nil {
		return Verdict{}, err
	}
	var v Verdict
	for m := 1; m <= looks; m++ {
		clock = s.StartedAt.Add(time.Duration(m)*time.Minute + delay)
		if clock.After(now) {
			v.Reason = fmt.Sprintf("the stage's data ends at %s, before minute %d: undecided so far (%s)",
				now.UTC().Format(time.RFC3339), m, v.Reason)
			break
		}
		d, err := e.Decide(ctx, req)
		if err != nil {
			var fe *gate.FieldError
			if errors.As(err, &fe) {
				return Verdict{}, err
			}
			return Verdict{}, fmt.Errorf("minute %d: %w", m, err)
		}
		evaluated, reason := d.Evaluated(), d.Reason
		if d.Shadow != nil {
			reason = d.Shadow.Reason
		}
		v.Timeline = append(v.Timeline, evaluated)
		v.Decision, v.Minute, v.Reason, v.Mode = evaluated, m, reason, d.Mode
		v.TimedOut, v.Outcome = d.Outcome != "", d.Outcome
		v.CanaryRequests = canaryRequests(d)
		if evaluated != gate.Wait {
			break
		}
	}
	if v.Decision == "" {
		v.Decision = gate.Wait
	}
	v.Queries = pf.Queries()
	return v, nil
}

// canaryRequests is what the canary served as the decision counted it.
func canaryRequests(d gate.Decision) float64 {
	for _, c := range d.Checks {
		if c.Name == "error_delta" {
			if n, ok := c.Details["canary_total"]; ok {
				return n
			}
		}
	}
	for _, c := range d.Checks {
		if c.Name == "min_traffic" && c.Observed != nil {
			return *c.Observed
		}
	}
	return 0
}
