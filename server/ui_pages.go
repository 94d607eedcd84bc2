package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// What the rollouts page reads.
const (
	// rolloutWindow is how far back the rollouts page looks.
	rolloutWindow = 7 * 24 * time.Hour
	// rolloutScan bounds the decisions it reads, newest first.
	rolloutScan = 1000
	// historyLimit bounds the decisions of the history page.
	historyLimit = 200
)

// rolloutRow is one patch of one service: its latest decision.
type rolloutRow struct {
	Service, PatchID, Stage, StageOf, Attempt string
	Verdict, Reason, DecisionID               string
	// Shadow is the verdict evaluated for a stage in shadow mode (the
	// answer was go), else "".
	Shadow string
	// Outcome says why a finished rollout is finished.
	Outcome string
	At      time.Time
	Ago     string
	Count   int
}

type rolloutsData struct {
	Now              time.Time
	Window           string
	Active, Finished []rolloutRow
}

// summaryOf reads the reason of a stored decision and, for a stage in
// shadow mode, the verdict it evaluated.
func summaryOf(body []byte) (reason, shadow string) {
	var d struct {
		Reason string `json:"reason"`
		Shadow *struct {
			Decision string `json:"decision"`
		} `json:"shadow"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return "(the stored decision is not JSON)", ""
	}
	if d.Shadow != nil {
		shadow = d.Shadow.Decision
	}
	return d.Reason, shadow
}

// handleRollouts lists the rollouts of the last week from their latest
// decisions: in progress, or finished (go at the service's last stage, or
// a deployed or rolled_back event after the latest decision).
func (s *Server) handleRollouts(c echo.Context) error {
	ctx := c.Request().Context()
	now := s.now()
	since := now.Add(-rolloutWindow)
	ds, err := s.decisions.ListDecisions(ctx, store.Filter{Limit: rolloutScan})
	if err != nil {
		return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("listing decisions: %w", err))
	}
	l := callerLimits(ctx)
	ds = filter(l, ds, func(d store.Decision) bool { return l.allows(d.Service, d.PatchID) })
	type key struct{ service, patch string }
	rows := map[key]*rolloutRow{}
	var order []key
	for _, d := range ds {
		if d.EvaluatedAt.Before(since) {
			continue
		}
		k := key{d.Service, d.PatchID}
		if r := rows[k]; r != nil {
			r.Count++
			continue
		}
		reason, shadow := summaryOf(d.Body)
		rows[k] = &rolloutRow{Service: d.Service, PatchID: d.PatchID, Stage: d.Stage, StageOf: s.stageOf(d.Service, d.Stage),
			Attempt: d.Attempt, Verdict: d.Verdict, Reason: reason, Shadow: shadow, DecisionID: d.ID,
			At: d.EvaluatedAt, Ago: humanDuration(now.Sub(d.EvaluatedAt)) + " ago", Count: 1}
		order = append(order, k)
	}
	// Events after the latest decision finish a rollout.
	if s.operator != nil && len(rows) > 0 {
		es, err := s.operator.ListEvents(ctx, store.EventFilter{Since: since})
		if err != nil {
			return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("listing events: %w", err))
		}
		for _, e := range es {
			r := rows[key{e.Service, e.PatchID}]
			if r == nil || e.Time.Before(r.At) {
				continue
			}
			switch e.Type {
			case store.EventDeployed:
				r.Outcome = "deployed " + humanDuration(now.Sub(e.Time)) + " ago"
			case store.EventRolledBack:
				r.Outcome = "rolled back " + humanDuration(now.Sub(e.Time)) + " ago"
			}
		}
	}
	data := rolloutsData{Now: now, Window: humanDuration(rolloutWindow), Active: []rolloutRow{}, Finished: []rolloutRow{}}
	for _, k := range order {
		r := rows[k]
		if names := s.stages(r.Service); r.Outcome == "" && r.Verdict == string(gate.Go) && len(names) > 0 && names[len(names)-1] == r.Stage {
			r.Outcome = "promoted through the last stage"
		}
		if r.Outcome != "" {
			data.Finished = append(data.Finished, *r)
		} else {
			data.Active = append(data.Active, *r)
		}
	}
	return s.render(c, http.StatusOK, "rollouts", uiPage{Title: "Rollouts", Nav: "rollouts", Data: data})
}

// knownDecisionFields are shown in their own places on the page; any
// other top-level field is listed under "Other fields".
var knownDecisionFields = []string{"decision_id", "decision", "reason", "checks", "retry_after_seconds", "service",
	"patch_id", "stage", "attempt", "evaluated_at", "policy_revision", "window", "override", "mode", "shadow"}

type decisionData struct {
	D gate.Decision
	// Verdict is D's verdict (D.Decision names the embedded gate.Decision).
	Verdict string
	StageOf string
	Extra   []keyValue
	Raw     string
	// Actor is who an override made from the page is recorded as.
	Actor string
	Chart decisionChart
}

// handleDecisionPage shows one decision with every check.
func (s *Server) handleDecisionPage(c echo.Context) error {
	id := c.Param("id")
	d, err := s.decisions.GetDecision(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return s.errorPage(c, http.StatusNotFound, fmt.Sprintf("No decision %q is recorded.", id), nil)
	}
	if err != nil {
		return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("reading decision %q: %w", id, err))
	}
	if err := callerLimits(c.Request().Context()).check(d.Service, d.PatchID, true); err != nil {
		return s.errorPage(c, http.StatusForbidden, err.(*APIError).Message+".", nil)
	}
	var view gate.Decision
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(d.Body, &view); err != nil {
		return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("decision %q: stored body: %w", id, err))
	}
	if err := json.Unmarshal(d.Body, &fields); err != nil {
		return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("decision %q: stored body: %w", id, err))
	}
	data := decisionData{D: view, Verdict: string(view.Decision), StageOf: s.stageOf(view.Service, view.Stage), Raw: prettyJSON(d.Body),
		Actor: TokenName(c.Request().Context()), Chart: s.chartFor(c.Request().Context(), view)}
	for name, raw := range fields {
		if !slices.Contains(knownDecisionFields, name) {
			data.Extra = append(data.Extra, keyValue{Key: name, Value: prettyJSON(raw)})
		}
	}
	slices.SortFunc(data.Extra, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	title := fmt.Sprintf("%s %s %s: %s", view.Service, view.PatchID, view.Stage, view.Decision)
	return s.render(c, http.StatusOK, "decision", uiPage{Title: title, Data: data})
}

type historyRow struct {
	store.Decision
	Reason string
	// Shadow is the verdict evaluated in shadow mode, else "".
	Shadow string
}

type historyData struct {
	Filter    store.Filter
	Decisions []historyRow
	Limit     int
	Truncated bool
}

// handleHistory lists the decisions of a service, patch or stage.
func (s *Server) handleHistory(c echo.Context) error {
	f := store.Filter{
		Service: strings.TrimSpace(c.QueryParam("service")),
		PatchID: strings.TrimSpace(c.QueryParam("patch_id")),
		Stage:   strings.TrimSpace(c.QueryParam("stage")),
		Limit:   historyLimit + 1,
	}
	for _, v := range []struct{ field, value string }{{"service", f.Service}, {"patch_id", f.PatchID}, {"stage", f.Stage}} {
		if len(v.value) > maxFieldBytes {
			return s.errorPage(c, http.StatusUnprocessableEntity, fmt.Sprintf("%s is longer than %d bytes.", v.field, maxFieldBytes), nil)
		}
	}
	l := callerLimits(c.Request().Context())
	if err := l.checkService(f.Service); err != nil {
		return s.errorPage(c, http.StatusForbidden, err.(*APIError).Message+".", nil)
	}
	ds, err := s.decisions.ListDecisions(c.Request().Context(), f)
	if err != nil {
		return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("listing decisions: %w", err))
	}
	ds = filter(l, ds, func(d store.Decision) bool { return l.allows(d.Service, d.PatchID) })
	data := historyData{Filter: f, Limit: historyLimit}
	if len(ds) > historyLimit {
		ds, data.Truncated = ds[:historyLimit], true
	}
	for _, d := range ds {
		reason, shadow := summaryOf(d.Body)
		data.Decisions = append(data.Decisions, historyRow{Decision: d, Reason: reason, Shadow: shadow})
	}
	return s.render(c, http.StatusOK, "history", uiPage{Title: "Decision history", Nav: "history", Data: data})
}

type overrideRow struct {
	store.Override
	ExpiresIn string
}

type configuredControl struct {
	Scope, Kind, When, Reason string
}

type overridesData struct {
	Now        time.Time
	Available  bool
	Overrides  []overrideRow
	Freezes    []store.Freeze
	Configured []configuredControl
	// Services can be frozen from the page.
	Services []string
}

// handleOverrides lists the overrides and freezes in force, and the
// windows and freezes of the configuration.
func (s *Server) handleOverrides(c echo.Context) error {
	ctx := c.Request().Context()
	now := s.now()
	data := overridesData{Now: now, Configured: s.configuredControls()}
	if s.policy != nil {
		for _, svc := range s.policy.Services {
			data.Services = append(data.Services, svc.Name)
		}
	}
	if s.ui.Controls != nil {
		data.Available = true
		os, err := s.ui.Controls.ListOverrides(ctx, store.ControlFilter{InForceAt: now})
		if err != nil {
			return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("listing overrides: %w", err))
		}
		l := callerLimits(ctx)
		for _, o := range filter(l, os, func(o store.Override) bool { return l.allowsControl(o) }) {
			data.Overrides = append(data.Overrides, overrideRow{Override: o, ExpiresIn: humanDuration(o.ExpiresAt.Sub(now))})
		}
		if data.Freezes, err = s.ui.Controls.ListFreezes(ctx, store.ControlFilter{InForceAt: now}); err != nil {
			return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("listing freezes: %w", err))
		}
		data.Freezes = filter(l, data.Freezes, func(f store.Freeze) bool { return l.allowsControl(f) })
	}
	return s.render(c, http.StatusOK, "overrides", uiPage{Title: "Overrides", Nav: "overrides", Data: data})
}

// configuredControls lists the windows and freezes of the configuration.
func (s *Server) configuredControls() []configuredControl {
	if s.policy == nil {
		return nil
	}
	var out []configuredControl
	add := func(scope string, ctl config.Controls) {
		for _, w := range ctl.Windows {
			out = append(out, configuredControl{Scope: scope, Kind: "maintenance window", When: weekly(w.Weekdays, w.Start, w.End, w.TimeZone)})
		}
		for _, f := range ctl.Freezes {
			when := weekly(f.Weekdays, f.Start, f.End, f.TimeZone)
			if f.From.IsSet() {
				when = f.From.String() + " to " + f.To.String()
			}
			out = append(out, configuredControl{Scope: scope, Kind: "change freeze", When: when, Reason: f.Reason})
		}
	}
	add("every service", s.policy.Controls)
	for _, svc := range s.policy.Services {
		if svc.Controls != nil {
			add(svc.Name, *svc.Controls)
		}
	}
	return out
}

func weekly(days []config.Weekday, start, end config.Clock, tz config.TimeZone) string {
	on := "every day"
	if len(days) > 0 {
		names := make([]string, len(days))
		for i, d := range days {
			names[i] = d.String()
		}
		on = strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s %s–%s %s", on, start, end, tz.Location())
}
