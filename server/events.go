package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/store"
)

// Limits on a patch event.
const (
	maxDetailBytes     = 4096
	maxEventLabels     = 16
	maxLabelValueBytes = 256
	maxEventHosts      = 1_000_000
	// Limits of GET /v1/patches/{id}/events.
	defaultEventLimit = 1000
	maxEventLimit     = 10000
)

// IdempotencyHeader carries an event's idempotency key (or the body's
// idempotency_key).
const IdempotencyHeader = "Idempotency-Key"

// EventInput is a patch event as posted to POST /v1/patches/{id}/events.
type EventInput struct {
	Type    string `json:"type"`
	Time    string `json:"time,omitempty"`
	Service string `json:"service,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	Stage   string `json:"stage,omitempty"`
	// Severity is critical, high, medium or low.
	Severity string `json:"severity,omitempty"`
	// Attempt is a JSON string or integer.
	Attempt json.RawMessage `json:"attempt,omitempty"`
	Hosts   *int            `json:"hosts,omitempty"`
	// Detail and Reason are the same free text; set one.
	Detail         string            `json:"detail,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
}

// EventView is a stored event on the wire.
type EventView struct {
	Seq            int64             `json:"seq"`
	ID             string            `json:"id"`
	PatchID        string            `json:"patch_id"`
	Type           string            `json:"type"`
	Time           time.Time         `json:"time"`
	ReceivedAt     time.Time         `json:"received_at"`
	Service        string            `json:"service,omitempty"`
	Cluster        string            `json:"cluster,omitempty"`
	Stage          string            `json:"stage,omitempty"`
	Severity       string            `json:"severity,omitempty"`
	Attempt        string            `json:"attempt,omitempty"`
	Hosts          int               `json:"hosts,omitempty"`
	Detail         string            `json:"detail,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	IdempotencyKey string            `json:"idempotency_key"`
	Actor          string            `json:"actor"`
}

// eventAnswer is the answer of POST /v1/patches/{id}/events: the stored
// event, and whether it was stored by an earlier POST with the same key.
type eventAnswer struct {
	EventView
	Duplicate bool `json:"duplicate"`
}

func viewEvent(e store.Event) EventView {
	return EventView{
		Seq: e.Seq, ID: e.ID, PatchID: e.PatchID, Type: e.Type, Time: e.Time, ReceivedAt: e.ReceivedAt,
		Service: e.Service, Cluster: e.Cluster, Stage: e.Stage, Severity: e.Severity, Attempt: e.Attempt,
		Hosts: e.Hosts, Detail: e.Detail, Labels: e.Labels, IdempotencyKey: e.IdempotencyKey, Actor: e.Actor,
	}
}

// handlePostEvent answers POST /v1/patches/:id/events: 201 with the event
// when stored, 200 with the first event and "duplicate": true when the
// idempotency key was used before.
func (s *Server) handlePostEvent(c echo.Context) error {
	r := c.Request()
	var in EventInput
	if err := decodeStrict(http.MaxBytesReader(c.Response(), r.Body, s.maxBodyBytes), &in); err != nil {
		return err
	}
	header := r.Header.Get(IdempotencyHeader)
	switch {
	case header != "" && in.IdempotencyKey != "" && header != in.IdempotencyKey:
		return &gate.FieldError{Field: "idempotency_key", Message: "differs from the " + IdempotencyHeader + " header; send one"}
	case header != "":
		in.IdempotencyKey = header
	}
	patchID, err := pathParam(c, "id", "patch_id")
	if err != nil {
		return err
	}
	e, created, err := s.appendEvent(r.Context(), patchID, in, true)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, eventAnswer{EventView: viewEvent(e), Duplicate: !created})
}

// AppendEvent checks and stores one event for patchID, with the token name
// of ctx as its actor. Bad fields are *gate.FieldError (422) naming the
// field; an unknown service or stage is *gate.NotFoundError (404).
// Integrations that receive lifecycle events (Flagger's event hook) call it
// too. A key used before answers the stored event whatever it holds:
// Flagger's keys name a phase of a revision on purpose, so the first of
// its messages in that phase is the one recorded.
func (s *Server) AppendEvent(ctx context.Context, patchID string, in EventInput) (store.Event, bool, error) {
	return s.appendEvent(ctx, patchID, in, false)
}

// appendEvent is AppendEvent; with conflicts, a key used before for
// another event is a 409 (POST /v1/patches/{id}/events, where the sender
// chose the key for this one event).
func (s *Server) appendEvent(ctx context.Context, patchID string, in EventInput, conflicts bool) (store.Event, bool, error) {
	if s.operator == nil {
		return store.Event{}, false, &APIError{Status: http.StatusNotImplemented, Message: "this server has no store for patch events"}
	}
	if err := callerLimits(ctx).check(in.Service, patchID, true); err != nil {
		return store.Event{}, false, err
	}
	e, err := s.checkEvent(patchID, in)
	if err != nil {
		return store.Event{}, false, err
	}
	e.Actor = TokenName(ctx)
	e.ReceivedAt = s.now()
	stored, created, err := s.operator.AppendEvent(ctx, e)
	if err != nil {
		return store.Event{}, false, fmt.Errorf("storing event: %w", err)
	}
	if !created && conflicts {
		// The key was used before, maybe by another replica: the stored
		// event must be this one, or the new event would be dropped
		// while the sender is told it is stored.
		if field, was, now := eventDiffers(stored, e, in.Time != ""); field != "" {
			return store.Event{}, false, &APIError{Status: http.StatusConflict, Field: "idempotency_key", Message: fmt.Sprintf(
				"%q already holds another event of patch %q (%s: stored %s, sent %s): use a new key for a new event, the same body for a retry",
				e.IdempotencyKey, e.PatchID, field, was, now)}
		}
	}
	if created {
		s.logger.InfoContext(ctx, "patch event", "patch_id", stored.PatchID, "type", stored.Type,
			"service", stored.Service, "stage", stored.Stage, "actor", stored.Actor, "id", stored.ID)
	}
	return stored, created, nil
}

// eventDiffers returns the first field in which the event a retry would
// store differs from the one stored under its key, with both values
// quoted; "" when they agree. The time is compared only when the sender
// gave one: without, each try is stamped with its own arrival.
func eventDiffers(stored, sent store.Event, timeGiven bool) (field, was, now string) {
	for _, f := range []struct{ name, was, now string }{
		{"type", stored.Type, sent.Type},
		{"service", stored.Service, sent.Service},
		{"cluster", stored.Cluster, sent.Cluster},
		{"stage", stored.Stage, sent.Stage},
		{"severity", stored.Severity, sent.Severity},
		{"attempt", stored.Attempt, sent.Attempt},
		{"hosts", strconv.Itoa(stored.Hosts), strconv.Itoa(sent.Hosts)},
		{"detail", stored.Detail, sent.Detail},
	} {
		if f.was != f.now {
			return f.name, strconv.Quote(f.was), strconv.Quote(f.now)
		}
	}
	if timeGiven && !stored.Time.Equal(sent.Time) {
		return "time", stored.Time.UTC().Format(time.RFC3339Nano), sent.Time.UTC().Format(time.RFC3339Nano)
	}
	if !maps.Equal(stored.Labels, sent.Labels) {
		return "labels", fmt.Sprint(stored.Labels), fmt.Sprint(sent.Labels)
	}
	return "", "", ""
}

// needsService are the event types that belong to one service's rollout.
var needsService = []string{store.EventStageStarted, store.EventPromoted, store.EventRolledBack, store.EventDeployed, store.EventIncident}

// checkEvent validates in field by field and returns the first problem.
func (s *Server) checkEvent(patchID string, in EventInput) (store.Event, error) {
	e := store.Event{PatchID: patchID, Type: in.Type, Service: in.Service, Cluster: in.Cluster,
		Stage: in.Stage, Severity: in.Severity, IdempotencyKey: in.IdempotencyKey}
	if err := checkID("patch_id", patchID, true); err != nil {
		return e, err
	}
	if err := checkID("idempotency_key", in.IdempotencyKey, true); err != nil {
		if in.IdempotencyKey == "" {
			return e, &gate.FieldError{Field: "idempotency_key", Message: "is required (or the " + IdempotencyHeader + " header): a retried POST must not count twice"}
		}
		return e, err
	}
	switch {
	case in.Type == "":
		return e, &gate.FieldError{Field: "type", Message: "is required: one of " + strings.Join(store.EventTypes, ", ")}
	case !slices.Contains(store.EventTypes, in.Type):
		return e, &gate.FieldError{Field: "type", Message: fmt.Sprintf("unknown type %q: want one of %s", in.Type, strings.Join(store.EventTypes, ", "))}
	}
	now := s.now()
	e.Time = now
	if in.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, in.Time)
		if err != nil {
			return e, &gate.FieldError{Field: "time", Message: fmt.Sprintf("must be an RFC 3339 time such as 2026-11-26T10:00:00Z, got %q", in.Time)}
		}
		// Older or later times are mistakes (a zero time, a wrong year)
		// that would skew the lifecycle metrics while they are exported.
		if earliest, latest := lifecycle.EventTimeRange(now); t.Before(earliest) || t.After(latest) {
			return e, &gate.FieldError{Field: "time", Message: fmt.Sprintf(
				"%s is out of range: an event's time must be from %s to %s (at most 10 years ago and 5 minutes ahead of the server's clock)",
				t.UTC().Format(time.RFC3339), earliest.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))}
		}
		e.Time = t
	}
	if err := checkID("service", in.Service, false); err != nil {
		return e, err
	}
	var svc *config.Service
	switch {
	case in.Service == "" && slices.Contains(needsService, in.Type):
		return e, &gate.FieldError{Field: "service", Message: fmt.Sprintf("is required for a %s event", in.Type)}
	case in.Service != "":
		var ok bool
		if svc, ok = s.policy.Service(in.Service); !ok {
			return e, &gate.NotFoundError{Field: "service", Value: in.Service}
		}
	}
	if err := checkID("stage", in.Stage, false); err != nil {
		return e, err
	}
	switch {
	case in.Stage == "" && (in.Type == store.EventStageStarted || in.Type == store.EventPromoted):
		return e, &gate.FieldError{Field: "stage", Message: fmt.Sprintf("is required for a %s event", in.Type)}
	case in.Stage != "" && svc != nil:
		if _, ok := svc.Stage(in.Stage); !ok {
			return e, &gate.NotFoundError{Field: "stage", Value: in.Stage}
		}
	}
	if err := checkID("cluster", in.Cluster, false); err != nil {
		return e, err
	}
	if in.Cluster != "" && len(s.policy.Clusters) > 0 {
		if _, ok := s.policy.Cluster(in.Cluster); !ok {
			return e, &gate.FieldError{Field: "cluster", Message: fmt.Sprintf("unknown cluster %q: the configuration's clusters are %s", in.Cluster, clusterNames(s.policy))}
		}
	}
	if in.Severity != "" && !slices.Contains(config.Severities, in.Severity) {
		return e, &gate.FieldError{Field: "severity", Message: fmt.Sprintf("must be one of %s, got %q", strings.Join(config.Severities, ", "), in.Severity)}
	}
	attempt, err := attemptValue(in.Attempt)
	if err != nil {
		return e, err
	}
	e.Attempt = attempt
	if in.Hosts != nil {
		if *in.Hosts < 0 || *in.Hosts > maxEventHosts {
			return e, &gate.FieldError{Field: "hosts", Message: fmt.Sprintf("must be from 0 to %d, got %d", maxEventHosts, *in.Hosts)}
		}
		e.Hosts = *in.Hosts
	}
	if in.Detail != "" && in.Reason != "" {
		return e, &gate.FieldError{Field: "reason", Message: "set detail or reason, not both"}
	}
	e.Detail = in.Detail + in.Reason
	field := "detail"
	if in.Reason != "" {
		field = "reason"
	}
	if err := checkText(field, e.Detail, maxDetailBytes, false); err != nil {
		return e, err
	}
	if len(in.Labels) > maxEventLabels {
		return e, &gate.FieldError{Field: "labels", Message: fmt.Sprintf("has %d entries, at most %d allowed", len(in.Labels), maxEventLabels)}
	}
	for _, k := range slices.Sorted(maps.Keys(in.Labels)) {
		if err := checkParamKey(k); err != nil {
			return e, &gate.FieldError{Field: "labels", Message: err.(*gate.FieldError).Message}
		}
		if err := checkText("labels."+k, in.Labels[k], maxLabelValueBytes, false); err != nil {
			return e, err
		}
	}
	if v, ok := in.Labels[lifecycle.DisclosedAtLabel]; ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		field := "labels." + lifecycle.DisclosedAtLabel
		switch {
		case err != nil:
			return e, &gate.FieldError{Field: field, Message: fmt.Sprintf("must be an RFC 3339 time such as 2026-11-20T00:00:00Z, got %q", v)}
		case t.Before(lifecycle.EarliestDisclosure) || t.After(now.Add(lifecycle.MaxEventSkew)):
			return e, &gate.FieldError{Field: field, Message: fmt.Sprintf("%s is out of range: a disclosure must be from %s to %s (the CVE list's start to the server's clock)",
				t.UTC().Format(time.RFC3339), lifecycle.EarliestDisclosure.Format(time.RFC3339), now.Add(lifecycle.MaxEventSkew).UTC().Format(time.RFC3339))}
		}
	}
	e.Labels = in.Labels
	return e, nil
}

// attemptValue reads an attempt given as a JSON string or integer.
func attemptValue(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		return strconv.FormatInt(n, 10), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &gate.FieldError{Field: "attempt", Message: "must be a string or an integer"}
	}
	return s, checkID("attempt", s, false)
}

func clusterNames(c *config.Config) string {
	names := make([]string, len(c.Clusters))
	for i, cl := range c.Clusters {
		names[i] = cl.Name
	}
	return strings.Join(names, ", ")
}

// handleListEvents answers GET /v1/patches/:id/events?service=&cluster=&type=&since=&until=&limit=,
// oldest first.
func (s *Server) handleListEvents(c echo.Context) error {
	patchID, err := pathParam(c, "id", "patch_id")
	if err != nil {
		return err
	}
	if err := checkID("patch_id", patchID, true); err != nil {
		return err
	}
	l := callerLimits(c.Request().Context())
	if err := l.checkService(c.QueryParam("service")); err != nil {
		return err
	}
	if err := l.checkPatch(patchID); err != nil {
		return err
	}
	f := store.EventFilter{
		PatchID: patchID,
		Service: c.QueryParam("service"),
		Cluster: c.QueryParam("cluster"),
		Stage:   c.QueryParam("stage"),
		Type:    c.QueryParam("type"),
		Limit:   defaultEventLimit,
	}
	if f.Type != "" && !slices.Contains(store.EventTypes, f.Type) {
		return &gate.FieldError{Field: "type", Message: fmt.Sprintf("unknown type %q: want one of %s", f.Type, strings.Join(store.EventTypes, ", "))}
	}
	for _, q := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if raw := c.QueryParam(q.name); raw != "" {
			t, err := time.Parse(time.RFC3339Nano, raw)
			if err != nil {
				return &gate.FieldError{Field: q.name, Message: fmt.Sprintf("must be an RFC 3339 time, got %q", raw)}
			}
			*q.to = t
		}
	}
	if raw := c.QueryParam("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxEventLimit {
			return &gate.FieldError{Field: "limit", Message: fmt.Sprintf("must be an integer from 1 to %d, got %q", maxEventLimit, raw)}
		}
		f.Limit = n
	}
	es, err := s.operator.ListEvents(c.Request().Context(), f)
	if err != nil {
		return fmt.Errorf("listing events: %w", err)
	}
	out := struct {
		Events []EventView `json:"events"`
	}{Events: make([]EventView, 0, len(es))}
	for _, e := range filter(l, es, func(e store.Event) bool { return l.allows(e.Service, e.PatchID) }) {
		out.Events = append(out.Events, viewEvent(e))
	}
	return c.JSON(http.StatusOK, out)
}
