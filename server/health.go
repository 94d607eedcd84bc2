package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

type healthStatus struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// handleHealthz answers while the process serves HTTP.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthStatus{Status: "ok"})
}

// handleReadyz answers 503 with the reason while Ready fails (the metric
// source is unreachable), so load balancers stop sending asks.
func (s *Server) handleReadyz(c echo.Context) error {
	if err := s.ready(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Reason: err.Error()})
	}
	return c.JSON(http.StatusOK, healthStatus{Status: "ok"})
}
