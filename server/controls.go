package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/store"
)

// createControl answers POST /v1/overrides and /v1/freezes with 201 and
// the stored control: check turns the body into a control made by actor
// at now, create stores it, and logged names what the log line says of it
// besides its id.
func createControl[In, T, V any](s *Server, c echo.Context, kind string,
	check func(in In, actor string, now time.Time) (T, error), create func(context.Context, T) (T, error),
	logged func(T) []any, view func(T, time.Time) V) error {
	r := c.Request()
	var in In
	if err := decodeStrict(http.MaxBytesReader(c.Response(), r.Body, s.maxBodyBytes), &in); err != nil {
		return err
	}
	if d, ok := any(&in).(deprecator); ok {
		notes, err := d.deprecated()
		if err != nil {
			return err
		}
		for _, n := range notes {
			// RFC 7234's miscellaneous persistent warning.
			c.Response().Header().Add("Warning", fmt.Sprintf("299 patchgate %q", n))
			s.logger.WarnContext(r.Context(), "deprecated field in POST "+c.Path(), "note", n, "token", TokenName(r.Context()))
		}
	}
	now := s.now()
	v, err := check(in, TokenName(r.Context()), now)
	if err != nil {
		return err
	}
	if err := callerLimits(r.Context()).checkControl(v); err != nil {
		return err
	}
	stored, err := create(r.Context(), v)
	if err != nil {
		return fmt.Errorf("storing %s: %w", kind, err)
	}
	s.controlsChanged()
	s.logger.InfoContext(r.Context(), kind+" created", logged(stored)...)
	return c.JSON(http.StatusCreated, view(stored, now))
}

// deprecator is a request body with deprecated field names: deprecated
// moves them to their current names and says which were used.
type deprecator interface {
	deprecated() ([]string, error)
}

// listControls answers GET /v1/overrides and /v1/freezes: the controls
// not yet over, or with all=true every one, under the JSON key plural.
func listControls[T, V any](s *Server, c echo.Context, plural string,
	list func(context.Context, store.ControlFilter) ([]T, error), view func(T, time.Time) V) error {
	now := s.now()
	f, err := controlFilter(c, now)
	if err != nil {
		return err
	}
	l := callerLimits(c.Request().Context())
	if err := l.checkService(f.Service); err != nil {
		return err
	}
	items, err := list(c.Request().Context(), f)
	if err != nil {
		return fmt.Errorf("listing %s: %w", plural, err)
	}
	items = filter(l, items, func(it T) bool { return l.allowsControl(it) })
	out := make([]V, 0, len(items))
	for _, it := range items {
		out = append(out, view(it, now))
	}
	return c.JSON(http.StatusOK, map[string][]V{plural: out})
}

// deleteControl answers DELETE /v1/overrides/:id and /v1/freezes/:id?reason=:
// the control stays stored with who deleted it, when and why.
func deleteControl[T, V any](s *Server, c echo.Context, kind string,
	list func(context.Context, store.ControlFilter) ([]T, error),
	del func(ctx context.Context, id, by, reason string, at time.Time) (T, error), view func(T, time.Time) V) error {
	ctx, now := c.Request().Context(), s.now()
	id, err := pathParam(c, "id", "id")
	if err != nil {
		return err
	}
	reason := c.QueryParam("reason")
	if err := checkText("reason", reason, maxReasonBytes, false); err != nil {
		return err
	}
	// A limited token may lift only controls it could have created.
	if l := callerLimits(ctx); l.limited() {
		all, err := list(ctx, store.ControlFilter{})
		if err != nil {
			return fmt.Errorf("listing %ss: %w", kind, err)
		}
		for _, it := range all {
			if controlID(it) == id {
				if err := l.checkControl(it); err != nil {
					return err
				}
			}
		}
	}
	v, err := del(ctx, id, TokenName(ctx), reason, now)
	if errors.Is(err, store.ErrNotFound) {
		return &APIError{Status: http.StatusNotFound, Field: "id", Message: fmt.Sprintf("no %s %q", kind, id)}
	}
	if err != nil {
		return fmt.Errorf("deleting %s %q: %w", kind, id, err)
	}
	s.controlsChanged()
	s.logger.InfoContext(ctx, kind+" deleted", "id", id, "deleted_by", TokenName(ctx), "reason", reason)
	return c.JSON(http.StatusOK, view(v, now))
}

// controlFilter reads ?service= and ?all=.
func controlFilter(c echo.Context, now time.Time) (store.ControlFilter, error) {
	f := store.ControlFilter{Service: c.QueryParam("service"), InForceAt: now}
	switch all := c.QueryParam("all"); all {
	case "", "false":
	case "true":
		f.InForceAt = time.Time{}
	default:
		return f, &gate.FieldError{Field: "all", Message: fmt.Sprintf("must be true or false, got %q", all)}
	}
	return f, nil
}
