package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/store"
)

// Flagger's webhook body carries no traffic weight, and it calls
// confirm-traffic-increase before every step: at weight 0 before the canary
// has any traffic, then at each weight, and (with stepWeight) once more at
// the maximum weight before confirm-promotion (flagger
// pkg/controller/scheduler.go advanceCanary and runCanary). A 2xx lets it
// take one step; a refusal holds the weight and asks again an interval
// later. So the number of approved steps is the stage: patchgate keeps it
// per Canary revision (checksum) as stage_started events:
//
//   - the first call of a revision starts the first stage and approves the
//     first step without asking the gate: there is no canary traffic to
//     judge yet, and asking would hold the weight at 0 for ever;
//   - every later call asks the gate about the stage last started; a go
//     starts the next stage (its window begins as the traffic steps up) and
//     approves the step; at the last stage a go approves without moving;
//   - confirm-promotion asks the same way and approves only a go of the
//     last stage: a go of an earlier stage starts the next and answers
//     412, so every configured stage is asked even when the Canary has
//     fewer steps than the service has stages;
//   - rollback asks the stage last started (and nothing before the first).
//
// A stage is left only on its own go, so a lost answer that Flagger
// retries cannot skip one: the retry asks the next stage, whose window has
// just begun, and waits.
var flaggerDerivedHooks = []string{"confirm-traffic-increase", "confirm-promotion", flaggerRollbackHook}

// flaggerStageKey is the idempotency key of a derived stage start: once per
// Canary, revision and stage, across retries and replicas.
func flaggerStageKey(p flaggerPayload, attempt, stage string) string {
	return fmt.Sprintf("%s%s", flaggerStageKeyPrefix(p, attempt), stage)
}

func flaggerStageKeyPrefix(p flaggerPayload, attempt string) string {
	return fmt.Sprintf("flagger/%s/%s/%s/stage/", p.Namespace, p.Name, attempt)
}

// flaggerStep is the answer to a derived hook that took no decision or
// whose decision moved the rollout to another stage.
type flaggerStep struct {
	Service string `json:"service"`
	PatchID string `json:"patch_id"`
	Attempt string `json:"attempt"`
	// Stage is the stage asked, Started the one started by this call.
	Stage   string         `json:"stage,omitempty"`
	Started string         `json:"started,omitempty"`
	Reason  string         `json:"reason"`
	Decided *gate.Decision `json:"decision,omitempty"`
}

// flaggerDerived answers a gate hook whose stage follows from the calls
// before it (see flaggerDerivedHooks).
func (s *Server) flaggerDerived(c echo.Context, hook string, p flaggerPayload, req gate.Request) error {
	ctx := c.Request().Context()
	attempt := req.Params[gate.ParamAttempt]
	if attempt == "" {
		return &gate.FieldError{Field: "checksum", Message: "is required to follow the Canary's stages when the webhook names no stage (or set metadata.attempt)"}
	}
	if s.operator == nil {
		return &APIError{Status: http.StatusNotImplemented, Field: "metadata." + flaggerKeyStage,
			Message: "this server keeps no patch events, so it cannot follow the Canary's stages: name the stage in the webhook's metadata"}
	}
	svc, _ := s.policy.Service(req.Service) // flaggerRequest checked it
	stages := make([]string, len(svc.Stages))
	for i, st := range svc.Stages {
		stages[i] = st.Name
	}
	current, err := s.flaggerCurrentStage(ctx, p, req, attempt, stages)
	if err != nil {
		return err
	}
	step := flaggerStep{Service: req.Service, PatchID: req.PatchID, Attempt: attempt}
	if current < 0 {
		if hook == flaggerRollbackHook {
			step.Reason = "no stage of this revision has started: nothing to roll back"
			return c.String(http.StatusPreconditionFailed, "patchgate: "+step.Reason)
		}
		if err := s.flaggerStartStage(ctx, p, req, attempt, stages[0], hook); err != nil {
			return err
		}
		step.Started = stages[0]
		if hook == "confirm-promotion" {
			// Blue/green and A/B canaries ask only before promotion.
			step.Reason = fmt.Sprintf("stage %s started; promotion waits for a go of every stage (%s)", stages[0], strings.Join(stages, ", "))
			return c.String(http.StatusPreconditionFailed, "patchgate: "+step.Reason)
		}
		step.Reason = fmt.Sprintf("stage %s started: the first traffic step is approved without a decision, as the canary has no traffic to judge yet; the next call asks stage %s", stages[0], stages[0])
		return c.JSON(http.StatusOK, step)
	}
	req.Stage = stages[current]
	step.Stage = req.Stage
	d, err := s.decide(ctx, "flagger "+hook, req)
	if err != nil {
		return err
	}
	if d.Decision == gate.Wait && d.RetryAfterSeconds > 0 {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(d.RetryAfterSeconds))
	}
	switch {
	case hook == flaggerRollbackHook && d.Decision == gate.NoGo:
		return c.JSON(http.StatusOK, d)
	case hook == flaggerRollbackHook, d.Decision != gate.Go:
		return c.String(http.StatusPreconditionFailed, flaggerRefusal(hook, d))
	case current == len(stages)-1:
		// The last stage: more traffic or promotion.
		return c.JSON(http.StatusOK, d)
	}
	next := stages[current+1]
	if err := s.flaggerStartStage(ctx, p, req, attempt, next, hook); err != nil {
		return err
	}
	if hook == "confirm-promotion" {
		return c.String(http.StatusPreconditionFailed, fmt.Sprintf(
			"patchgate go for stage %s, stage %s started: promotion waits for a go of the last stage, %s (decision %s)",
			req.Stage, next, stages[len(stages)-1], d.ID))
	}
	return c.JSON(http.StatusOK, d)
}

// flaggerCurrentStage is the index of the last stage this revision started
// through derived hooks, -1 when none.
func (s *Server) flaggerCurrentStage(ctx context.Context, p flaggerPayload, req gate.Request, attempt string, stages []string) (int, error) {
	events, err := s.operator.ListEvents(ctx, store.EventFilter{PatchID: req.PatchID, Service: req.Service, Type: store.EventStageStarted})
	if err != nil {
		return 0, fmt.Errorf("reading the stages of %s/%s: %w", p.Namespace, p.Name, err)
	}
	prefix := flaggerStageKeyPrefix(p, attempt)
	current := -1
	for _, e := range events {
		if e.Attempt != attempt || !strings.HasPrefix(e.IdempotencyKey, prefix) {
			continue
		}
		if i := slices.Index(stages, e.Stage); i > current {
			current = i
		}
	}
	return current, nil
}

// flaggerStartStage records that a stage of this revision started now.
func (s *Server) flaggerStartStage(ctx context.Context, p flaggerPayload, req gate.Request, attempt, stage, hook string) error {
	a, _ := json.Marshal(attempt) // a string always encodes
	_, _, err := s.AppendEvent(ctx, req.PatchID, EventInput{
		Type:    store.EventStageStarted,
		Service: req.Service,
		Cluster: req.Params[gate.ParamCluster],
		Stage:   stage,
		Attempt: a,
		Detail:  fmt.Sprintf("started by Flagger's %s hook of Canary %s/%s", hook, p.Namespace, p.Name),
		Labels: map[string]string{
			"source":         "flagger",
			"flagger_canary": p.Namespace + "/" + p.Name,
			"flagger_hook":   hook,
		},
		IdempotencyKey: flaggerStageKey(p, attempt, stage),
	})
	if err != nil {
		return renameFlaggerEventField(err)
	}
	return nil
}
