package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/store"
)

// Limits of GET /v1/decisions.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// decisionList is the answer of GET /v1/decisions, newest first.
type decisionList struct {
	Decisions []json.RawMessage `json:"decisions"`
}

// handleListDecisions answers GET /v1/decisions?service=&patch_id=&stage=&limit=
// with the stored answers exactly as they were returned.
func (s *Server) handleListDecisions(c echo.Context) error {
	f := store.Filter{
		Service: c.QueryParam("service"),
		PatchID: c.QueryParam("patch_id"),
		Stage:   c.QueryParam("stage"),
		Limit:   defaultListLimit,
	}
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxListLimit {
			return &APIError{Status: http.StatusUnprocessableEntity, Field: "limit",
				Message: fmt.Sprintf("must be an integer from 1 to %d, got %q", maxListLimit, raw)}
		}
		f.Limit = n
	}
	l := callerLimits(c.Request().Context())
	if err := l.checkService(f.Service); err != nil {
		return err
	}
	ds, err := s.decisions.ListDecisions(c.Request().Context(), f)
	if err != nil {
		return fmt.Errorf("listing decisions: %w", err)
	}
	ds = filter(l, ds, func(d store.Decision) bool { return l.allows(d.Service, d.PatchID) })
	out := decisionList{Decisions: make([]json.RawMessage, 0, len(ds))}
	for _, d := range ds {
		if !json.Valid(d.Body) {
			return fmt.Errorf("decision %q: stored body is not JSON", d.ID)
		}
		out.Decisions = append(out.Decisions, d.Body)
	}
	return c.JSON(http.StatusOK, out)
}

// handleGetDecision answers GET /v1/decisions/:id with the stored answer.
func (s *Server) handleGetDecision(c echo.Context) error {
	id, err := pathParam(c, "id", "id")
	if err != nil {
		return err
	}
	d, err := s.decisions.GetDecision(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return &APIError{Status: http.StatusNotFound, Field: "id", Message: fmt.Sprintf("no decision %q", id)}
	}
	if err != nil {
		return fmt.Errorf("reading decision %q: %w", id, err)
	}
	if err := callerLimits(c.Request().Context()).check(d.Service, d.PatchID, true); err != nil {
		return err
	}
	if !json.Valid(d.Body) {
		return fmt.Errorf("decision %q: stored body is not JSON", id)
	}
	return c.JSONBlob(http.StatusOK, d.Body)
}
