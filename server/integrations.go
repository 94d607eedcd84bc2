package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
)

// Paths of the rollout-tool endpoints. Argo Rollouts needs none of its own:
// its web metric provider asks POST /v1/gate (docs/integrations.md).
const (
	flaggerPath         = "/v1/integrations/flagger/:hook"
	flaggerTokenPath    = "/v1/integrations/flagger/:hook/t/:token"
	spinnakerPath       = "/v1/integrations/spinnaker"
	spinnakerStatusPath = "/v1/integrations/spinnaker/status"
)

// integrationRoutes registers the Flagger and Spinnaker endpoints.
func (s *Server) integrationRoutes(e *echo.Echo) {
	// Flagger cannot send headers: its token may come in the URL.
	flaggerAuth := s.auth.requireURLToken(func(c echo.Context) string {
		if c.Param("hook") == flaggerEventHook {
			return config.ScopeEvents
		}
		return config.ScopeGate
	})
	e.POST(flaggerPath, s.handleFlagger, flaggerAuth)
	e.POST(flaggerTokenPath, s.handleFlagger, flaggerAuth)

	gateScope := s.auth.require(config.ScopeGate)
	e.POST(spinnakerPath, s.handleSpinnaker, gateScope)
	e.GET(spinnakerStatusPath, s.handleSpinnakerStatus, gateScope)
}

// decide asks the gate and accounts for the answer as POST /v1/gate does:
// metrics, a debug log line, and an error for a verdict that is not go,
// no_go or wait, so that no integration can read it as anything else.
func (s *Server) decide(ctx context.Context, via string, req gate.Request) (gate.Decision, error) {
	if err := callerLimits(ctx).check(req.Service, req.PatchID, true); err != nil {
		return gate.Decision{}, err
	}
	start := time.Now()
	d, err := s.gate.Decide(ctx, req)
	elapsed := time.Since(start)
	if err != nil {
		s.metrics.observeDecide("error", elapsed)
		return gate.Decision{}, err
	}
	switch d.Decision {
	case gate.Go, gate.NoGo, gate.Wait:
	default:
		s.metrics.observeDecide("error", elapsed)
		return gate.Decision{}, fmt.Errorf("gate returned decision %q (id %q): not go, no_go or wait", d.Decision, d.ID)
	}
	s.metrics.observeDecision(d, elapsed)
	s.logger.DebugContext(ctx, "decision", "via", via, "decision_id", d.ID, "service", d.Service, "patch_id", d.PatchID,
		"stage", d.Stage, "decision", d.Decision, "token", TokenName(ctx))
	return d, nil
}

// checkRequest applies POST /v1/gate's field rules (lengths, UTF-8,
// parameter names) to a request built from another tool's payload.
func checkRequest(req gate.Request) (gate.Request, error) {
	raw := func(s string) json.RawMessage {
		b, _ := json.Marshal(s) // a string always encodes
		return b
	}
	w := wireRequest{Service: raw(req.Service), PatchID: raw(req.PatchID), Stage: raw(req.Stage)}
	if req.Params != nil {
		w.Params = make(map[string]json.RawMessage, len(req.Params))
		for k, v := range req.Params {
			w.Params[k] = raw(v)
		}
	}
	return w.request()
}
