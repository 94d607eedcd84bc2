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

// MaxOverrideTTL is the longest an override may last: an override is for
// an incident or a hotfix, not a policy.
const MaxOverrideTTL = 7 * 24 * time.Hour

const maxReasonBytes = 1024

// overrideInput is the body of POST /v1/overrides.
type overrideInput struct {
	Service string `json:"service"`
	PatchID string `json:"patch_id"`
	Stage   string `json:"stage"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	// One of ExpiresAt (RFC 3339) and TTL (a duration such as 2h).
	ExpiresAt string `json:"expires_at"`
	TTL       string `json:"ttl"`
}

// OverrideView is an override on the wire.
type OverrideView struct {
	ID           string     `json:"id"`
	Service      string     `json:"service"`
	PatchID      string     `json:"patch_id,omitempty"`
	Stage        string     `json:"stage,omitempty"`
	Verdict      string     `json:"verdict"`
	Reason       string     `json:"reason"`
	Actor        string     `json:"actor"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	InForce      bool       `json:"in_force"`
	DeletedAt    *time.Time `json:"deleted_at,omitempty"`
	DeletedBy    string     `json:"deleted_by,omitempty"`
	DeleteReason string     `json:"delete_reason,omitempty"`
}

func viewOverride(o store.Override, now time.Time) OverrideView {
	v := OverrideView{
		ID: o.ID, Service: o.Service, PatchID: o.PatchID, Stage: o.Stage, Verdict: o.Verdict, Reason: o.Reason,
		Actor: o.Actor, CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt, InForce: o.InForce(now),
		DeletedBy: o.DeletedBy, DeleteReason: o.DeleteReason,
	}
	if !o.DeletedAt.IsZero() {
		v.DeletedAt = &o.DeletedAt
	}
	return v
}

// handlePostOverride answers POST /v1/overrides with 201 and the override.
func (s *Server) handlePostOverride(c echo.Context) error {
	return createControl(s, c, "override", s.checkOverride, s.operator.CreateOverride, loggedOverride, viewOverride)
}

func loggedOverride(o store.Override) []any {
	return []any{"id", o.ID, "service", o.Service, "patch_id", o.PatchID, "stage", o.Stage, "verdict", o.Verdict,
		"expires_at", o.ExpiresAt, "actor", o.Actor, "reason", o.Reason}
}

// checkOverride turns a request body into an override made by actor at now.
func (s *Server) checkOverride(in overrideInput, actor string, now time.Time) (store.Override, error) {
	o := store.Override{Service: in.Service, PatchID: in.PatchID, Stage: in.Stage, Verdict: in.Verdict,
		Reason: strings.TrimSpace(in.Reason), Actor: actor, CreatedAt: now}
	if err := checkID("service", in.Service, true); err != nil {
		return o, err
	}
	svc, ok := s.policy.Service(in.Service)
	if !ok {
		return o, &gate.NotFoundError{Field: "service", Value: in.Service}
	}
	if err := checkID("patch_id", in.PatchID, false); err != nil {
		return o, err
	}
	if in.Stage != "" {
		if _, ok := svc.Stage(in.Stage); !ok {
			return o, &gate.NotFoundError{Field: "stage", Value: in.Stage}
		}
	}
	if in.Verdict != string(gate.Go) && in.Verdict != string(gate.NoGo) {
		return o, &gate.FieldError{Field: "verdict", Message: fmt.Sprintf("must be go or no_go, got %q", in.Verdict)}
	}
	if o.Reason == "" {
		return o, &gate.FieldError{Field: "reason", Message: "is required: say why the checks are overridden"}
	}
	if err := checkText("reason", o.Reason, maxReasonBytes, true); err != nil {
		return o, err
	}
	expires, err := expiry(in.ExpiresAt, in.TTL, now, MaxOverrideTTL)
	if err != nil {
		return o, err
	}
	o.ExpiresAt = expires
	return o, nil
}

// expiry reads one of expires_at (an RFC 3339 time) and ttl (a duration);
// the result must lie after now and at most maxTTL after it.
func expiry(expiresAt, ttl string, now time.Time, maxTTL time.Duration) (time.Time, error) {
	var t time.Time
	switch {
	case expiresAt != "" && ttl != "":
		return t, &gate.FieldError{Field: "ttl", Message: "set expires_at or ttl, not both"}
	case expiresAt != "":
		v, err := time.Parse(time.RFC3339Nano, expiresAt)
		if err != nil {
			return t, &gate.FieldError{Field: "expires_at", Message: fmt.Sprintf("must be an RFC 3339 time, got %q", expiresAt)}
		}
		if !v.After(now) {
			return t, &gate.FieldError{Field: "expires_at", Message: "is in the past"}
		}
		if v.Sub(now) > maxTTL {
			return t, &gate.FieldError{Field: "expires_at", Message: fmt.Sprintf("is more than %s away", model.Duration(maxTTL))}
		}
		return v, nil
	case ttl != "":
		d, err := model.ParseDuration(ttl)
		if err != nil || d <= 0 {
			return t, &gate.FieldError{Field: "ttl", Message: fmt.Sprintf("must be a duration such as 2h or 1d, got %q", ttl)}
		}
		if time.Duration(d) > maxTTL {
			return t, &gate.FieldError{Field: "ttl", Message: fmt.Sprintf("must be at most %s, got %s", model.Duration(maxTTL), ttl)}
		}
		return now.Add(time.Duration(d)), nil
	}
	return t, &gate.FieldError{Field: "expires_at", Message: fmt.Sprintf("an expiry is required: expires_at (RFC 3339) or ttl (at most %s)", model.Duration(maxTTL))}
}

// handleListOverrides answers GET /v1/overrides?service=&all=true: the
// overrides in force, or with all=true every one ever created.
func (s *Server) handleListOverrides(c echo.Context) error {
	return listControls(s, c, "overrides", s.operator.ListOverrides, viewOverride)
}

// handleDeleteOverride answers DELETE /v1/overrides/:id?reason=: the
// override stays stored with who deleted it, when and why.
func (s *Server) handleDeleteOverride(c echo.Context) error {
	return deleteControl(s, c, "override", s.operator.ListOverrides, s.operator.DeleteOverride, viewOverride)
}

// controlsChanged tells the gate, when it wants to know, that an
// override or freeze was created or deleted, so it applies at once.
func (s *Server) controlsChanged() {
	if g, ok := s.gate.(interface{ ControlsChanged() }); ok {
		g.ControlsChanged()
	}
}
