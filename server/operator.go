package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// Operator is the store behind the operator endpoints: patch lifecycle
// events, overrides and change freezes. store.Store implements it.
type Operator interface {
	AppendEvent(ctx context.Context, e store.Event) (store.Event, bool, error)
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
	CreateOverride(ctx context.Context, o store.Override) (store.Override, error)
	ListOverrides(ctx context.Context, f store.ControlFilter) ([]store.Override, error)
	DeleteOverride(ctx context.Context, id, by, reason string, at time.Time) (store.Override, error)
	CreateFreeze(ctx context.Context, f store.Freeze) (store.Freeze, error)
	ListFreezes(ctx context.Context, f store.ControlFilter) ([]store.Freeze, error)
	DeleteFreeze(ctx context.Context, id, by, reason string, at time.Time) (store.Freeze, error)
}

// operatorRoutes registers the operator endpoints when an Operator is
// configured. Every write records the token name as its actor.
func (s *Server) operatorRoutes(e *echo.Echo) {
	if s.operator == nil {
		return
	}
	if sl, ok := s.operator.(Slots); ok {
		s.slots = sl
		e.GET("/v1/concurrency", s.handleConcurrency, s.auth.require(config.ScopeGate))
	}
	events := s.auth.require(config.ScopeEvents)
	e.POST("/v1/patches/:id/events", s.handlePostEvent, events)
	e.GET("/v1/patches/:id/events", s.handleListEvents, events)
	e.POST("/v1/scans", s.handlePostScans, events)

	override := s.auth.require(config.ScopeOverride)
	e.POST("/v1/overrides", s.handlePostOverride, override)
	e.GET("/v1/overrides", s.handleListOverrides, override)
	e.DELETE("/v1/overrides/:id", s.handleDeleteOverride, override)

	admin := s.auth.require(config.ScopeAdmin)
	e.POST("/v1/freezes", s.handlePostFreeze, admin)
	e.GET("/v1/freezes", s.handleListFreezes, admin)
	e.DELETE("/v1/freezes/:id", s.handleDeleteFreeze, admin)
}

// decodeStrict reads one JSON object from r into v: unknown fields,
// malformed JSON and trailing data are 400, a body that is not UTF-8 is
// 422 (encoding/json would silently replace the bad bytes).
func decodeStrict(r io.Reader, v any) error {
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return &gate.FieldError{Field: "body", Message: "must be valid UTF-8"}
	}
	return decodeJSON(bytes.NewReader(body), v)
}

// checkText checks a text field's presence and length.
func checkText(field, value string, maxBytes int, required bool) error {
	switch {
	case required && strings.TrimSpace(value) == "":
		return &gate.FieldError{Field: field, Message: "is required"}
	case len(value) > maxBytes:
		return &gate.FieldError{Field: field, Message: fmt.Sprintf("is %d bytes, at most %d allowed", len(value), maxBytes)}
	}
	return nil
}
