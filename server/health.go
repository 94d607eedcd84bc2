package server

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
)

// NotReadyError is what Config.Ready returns to say which component keeps
// the server from answering: "metric_source" or "store". Err stays in the
// log and is shown only to an authenticated caller: it may name internal
// hosts.
type NotReadyError struct {
	Component string
	Err       error
}

func (e *NotReadyError) Error() string { return e.Component + ": " + e.Err.Error() }
func (e *NotReadyError) Unwrap() error { return e.Err }

type healthStatus struct {
	Status string `json:"status"`
	// Component is what is not ready; Reason the error, for a caller with
	// a gate token only.
	Component string `json:"component,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// handleHealthz answers while the process serves HTTP.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthStatus{Status: "ok"})
}

// handleReadyz answers 503 naming the component while Ready fails (the
// metric source is unreachable or answers partial data, the store cannot
// write), so load balancers stop sending asks. The error itself is logged
// and shown only with a token of the gate scope: probes and anyone else
// who can reach the port learn which component, not its address.
func (s *Server) handleReadyz(c echo.Context) error {
	ctx := c.Request().Context()
	err := s.ready(ctx)
	if err == nil {
		s.readiness.Store(nil)
		return c.JSON(http.StatusOK, healthStatus{Status: "ok"})
	}
	component := "unknown"
	var nr *NotReadyError
	if errors.As(err, &nr) {
		component = nr.Component
	}
	// Log a change of state, not every probe.
	msg := err.Error()
	if prev := s.readiness.Swap(&msg); prev == nil || *prev != msg {
		s.logger.WarnContext(ctx, "not ready", "component", component, "err", err)
	}
	out := healthStatus{Status: "unavailable", Component: component}
	if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
		if _, aerr := s.auth.authorize(c, config.ScopeGate); aerr == nil {
			out.Reason = msg
		}
	}
	return c.JSON(http.StatusServiceUnavailable, out)
}
