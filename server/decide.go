package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
)

// handleGate answers POST /v1/gate. A decision of any verdict is a 200 with
// the decision as JSON; non-2xx means the request or the gate failed.
func (s *Server) handleGate(c echo.Context) error {
	r := c.Request()
	ctx := r.Context()
	req, err := decodeRequest(http.MaxBytesReader(c.Response(), r.Body, s.maxBodyBytes))
	if err != nil {
		return err
	}
	if err := callerLimits(ctx).check(req.Service, req.PatchID, true); err != nil {
		return err
	}

	start := time.Now()
	d, err := s.gate.Decide(ctx, req)
	elapsed := time.Since(start)
	if err != nil {
		s.metrics.observeDecide("error", elapsed)
		return err
	}
	switch d.Decision {
	case gate.Go, gate.NoGo, gate.Wait:
	default:
		// Never let a caller read an unknown verdict as anything but a failure.
		s.metrics.observeDecide("error", elapsed)
		return fmt.Errorf("gate returned decision %q (id %q): not go, no_go or wait", d.Decision, d.ID)
	}
	s.metrics.observeDecision(d, elapsed)
	s.logger.DebugContext(ctx, "decision", "decision_id", d.ID, "service", d.Service, "patch_id", d.PatchID,
		"stage", d.Stage, "decision", d.Decision, "token", TokenName(ctx))

	if d.Decision == gate.Wait && d.RetryAfterSeconds > 0 {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(d.RetryAfterSeconds))
	}
	return s.writeDecision(c, d)
}
