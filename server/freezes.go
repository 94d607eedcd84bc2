package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/store"
)

// MaxFreeze is the longest a freeze made through the API may last.
const MaxFreeze = 90 * 24 * time.Hour

// freezeInput is the body of POST /v1/freezes.
type freezeInput struct {
	// Service is frozen; empty freezes every service.
	Service string `json:"service"`
	// StartsAt defaults to now. One of EndsAt and Duration is required.
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
	Duration string `json:"duration"`
	Reason   string `json:"reason"`
	// From and To are deprecated aliases of StartsAt and EndsAt, the
	// names config files used before they took the API's.
	From string `json:"from"`
	To   string `json:"to"`
}

// deprecated moves the deprecated aliases to their fields and says, for a
// Warning header and the log, which were used.
func (in *freezeInput) deprecated() ([]string, error) {
	var notes []string
	for _, a := range []struct {
		old, name string
		from, to  *string
	}{{"from", "starts_at", &in.From, &in.StartsAt}, {"to", "ends_at", &in.To, &in.EndsAt}} {
		if *a.from == "" {
			continue
		}
		if *a.to != "" {
			return nil, &gate.FieldError{Field: a.old, Message: fmt.Sprintf("is a deprecated alias of %s: set %s only", a.name, a.name)}
		}
		*a.to, *a.from = *a.from, ""
		notes = append(notes, fmt.Sprintf("%s is deprecated: use %s", a.old, a.name))
	}
	return notes, nil
}

// FreezeView is a freeze on the wire.
type FreezeView struct {
	ID           string     `json:"id"`
	Service      string     `json:"service,omitempty"`
	StartsAt     time.Time  `json:"starts_at"`
	EndsAt       time.Time  `json:"ends_at"`
	Reason       string     `json:"reason"`
	Actor        string     `json:"actor"`
	CreatedAt    time.Time  `json:"created_at"`
	InForce      bool       `json:"in_force"`
	DeletedAt    *time.Time `json:"deleted_at,omitempty"`
	DeletedBy    string     `json:"deleted_by,omitempty"`
	DeleteReason string     `json:"delete_reason,omitempty"`
}

func viewFreeze(f store.Freeze, now time.Time) FreezeView {
	v := FreezeView{
		ID: f.ID, Service: f.Service, StartsAt: f.StartsAt, EndsAt: f.EndsAt, Reason: f.Reason, Actor: f.Actor,
		CreatedAt: f.CreatedAt, InForce: f.InForce(now), DeletedBy: f.DeletedBy, DeleteReason: f.DeleteReason,
	}
	if !f.DeletedAt.IsZero() {
		v.DeletedAt = &f.DeletedAt
	}
	return v
}

// handlePostFreeze answers POST /v1/freezes with 201 and the freeze.
func (s *Server) handlePostFreeze(c echo.Context) error {
	return createControl(s, c, "freeze", s.checkFreeze, s.operator.CreateFreeze, loggedFreeze, viewFreeze)
}

func loggedFreeze(f store.Freeze) []any {
	return []any{"id", f.ID, "service", f.Service, "starts_at", f.StartsAt, "ends_at", f.EndsAt, "actor", f.Actor, "reason", f.Reason}
}

// checkFreeze turns a request body into a freeze made by actor at now.
func (s *Server) checkFreeze(in freezeInput, actor string, now time.Time) (store.Freeze, error) {
	f := store.Freeze{Service: in.Service, Reason: strings.TrimSpace(in.Reason), Actor: actor, CreatedAt: now}
	if err := checkID("service", in.Service, false); err != nil {
		return f, err
	}
	if in.Service != "" {
		if _, ok := s.policy.Service(in.Service); !ok {
			return f, &gate.NotFoundError{Field: "service", Value: in.Service}
		}
	}
	f.StartsAt = now
	if in.StartsAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.StartsAt)
		if err != nil {
			return f, &gate.FieldError{Field: "starts_at", Message: fmt.Sprintf("must be an RFC 3339 time, got %q", in.StartsAt)}
		}
		f.StartsAt = t
	}
	switch {
	case in.EndsAt != "" && in.Duration != "":
		return f, &gate.FieldError{Field: "duration", Message: "set ends_at or duration, not both"}
	case in.EndsAt != "":
		t, err := time.Parse(time.RFC3339Nano, in.EndsAt)
		if err != nil {
			return f, &gate.FieldError{Field: "ends_at", Message: fmt.Sprintf("must be an RFC 3339 time, got %q", in.EndsAt)}
		}
		f.EndsAt = t
	case in.Duration != "":
		d, err := model.ParseDuration(in.Duration)
		if err != nil || d <= 0 {
			return f, &gate.FieldError{Field: "duration", Message: fmt.Sprintf("must be a duration such as 12h or 3d, got %q", in.Duration)}
		}
		f.EndsAt = f.StartsAt.Add(time.Duration(d))
	default:
		return f, &gate.FieldError{Field: "ends_at", Message: "an end is required: ends_at (RFC 3339) or duration"}
	}
	switch {
	case !f.EndsAt.After(f.StartsAt):
		return f, &gate.FieldError{Field: "ends_at", Message: "must be after starts_at"}
	case !f.EndsAt.After(now):
		return f, &gate.FieldError{Field: "ends_at", Message: "is in the past"}
	case f.EndsAt.Sub(f.StartsAt) > MaxFreeze:
		return f, &gate.FieldError{Field: "ends_at", Message: fmt.Sprintf("the freeze would last more than %s", model.Duration(MaxFreeze))}
	}
	if f.Reason == "" {
		return f, &gate.FieldError{Field: "reason", Message: "is required: it is shown in every answer the freeze stops"}
	}
	if err := checkText("reason", f.Reason, maxReasonBytes, true); err != nil {
		return f, err
	}
	return f, nil
}

// handleListFreezes answers GET /v1/freezes?service=&all=true: the
// freezes not yet over (in force or to come), or every one.
func (s *Server) handleListFreezes(c echo.Context) error {
	return listControls(s, c, "freezes", s.operator.ListFreezes, viewFreeze)
}

// handleDeleteFreeze answers DELETE /v1/freezes/:id?reason=: the freeze
// stays stored with who lifted it, when and why.
func (s *Server) handleDeleteFreeze(c echo.Context) error {
	return deleteControl(s, c, "freeze", s.operator.ListFreezes, s.operator.DeleteFreeze, viewFreeze)
}
