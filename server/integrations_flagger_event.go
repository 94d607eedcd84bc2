package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/store"
)

// flaggerEventTypes maps the Canary phase an event webhook reports to the
// patch lifecycle event it means. Other phases (Initializing, Initialized,
// Waiting, WaitingPromotion, Finalising, Terminating, Terminated) are
// acknowledged and not recorded.
var flaggerEventTypes = map[string]string{
	"Progressing": store.EventStageStarted,
	"Promoting":   store.EventPromoted,
	"Succeeded":   store.EventDeployed,
	"Failed":      store.EventRolledBack,
}

// Metadata keys Flagger itself puts on event webhooks (CallEventWebhook).
const (
	flaggerEventMessage = "eventMessage"
	flaggerEventType    = "eventType"
	flaggerEventTime    = "timestamp"
)

// flaggerEventAnswer is the body of an event hook's 202.
type flaggerEventAnswer struct {
	Recorded bool   `json:"recorded"`
	Reason   string `json:"reason,omitempty"`
	// Created is false when the same Canary revision reported the same
	// phase before: Flagger sends an event per message, recorded once.
	Created bool   `json:"created,omitempty"`
	EventID string `json:"event_id,omitempty"`
	Type    string `json:"type,omitempty"`
	PatchID string `json:"patch_id,omitempty"`
}

// flaggerEvent records an event webhook as a patch lifecycle event, once
// per Canary, revision (checksum) and event type, through the same checks
// as POST /v1/patches/{id}/events.
func (s *Server) flaggerEvent(c echo.Context, p flaggerPayload) error {
	typ, ok := flaggerEventTypes[p.Phase]
	if !ok {
		return c.JSON(http.StatusAccepted, flaggerEventAnswer{
			Reason: fmt.Sprintf("phase %q is not a patch lifecycle event; recorded are Progressing (stage_started), Promoting (promoted), Succeeded (deployed), Failed (rolled_back)", p.Phase)})
	}
	if s.operator == nil {
		return c.JSON(http.StatusAccepted, flaggerEventAnswer{Reason: "this server keeps no patch events"})
	}
	patchID, in, err := s.flaggerEventInput(p, typ)
	if err != nil {
		return err
	}
	stored, created, err := s.AppendEvent(c.Request().Context(), patchID, in)
	if err != nil {
		return renameFlaggerEventField(err)
	}
	return c.JSON(http.StatusAccepted, flaggerEventAnswer{
		Recorded: true, Created: created, EventID: stored.ID, Type: stored.Type, PatchID: stored.PatchID})
}

func (s *Server) flaggerEventInput(p flaggerPayload, typ string) (string, EventInput, error) {
	target, path := s.flaggerTarget(p)
	var mappedService, mappedStage string
	if target != nil {
		mappedService, mappedStage = target.Service, target.StageFor(flaggerEventHook)
	}
	service, err := flaggerField(p, flaggerKeyService, mappedService, path+".service")
	if err != nil {
		return "", EventInput{}, err
	}
	stage, err := flaggerField(p, flaggerKeyStage, mappedStage, path+".stage")
	if err != nil {
		return "", EventInput{}, err
	}
	patchID := p.Metadata[flaggerKeyPatchID]
	if patchID == "" {
		patchID = flaggerPatchID(p.Checksum)
	}
	if patchID == "" {
		return "", EventInput{}, &gate.FieldError{Field: "metadata." + flaggerKeyPatchID,
			Message: "is required when the payload has no checksum"}
	}
	in := EventInput{
		Type:     typ,
		Service:  service,
		Cluster:  p.Metadata["cluster"],
		Stage:    stage,
		Severity: p.Metadata["severity"],
		Detail:   truncateUTF8(p.Metadata[flaggerEventMessage], maxDetailBytes),
		Labels: map[string]string{
			"source":         "flagger",
			"flagger_canary": p.Namespace + "/" + p.Name,
			"flagger_phase":  p.Phase,
		},
		IdempotencyKey: fmt.Sprintf("flagger/%s/%s/%s/%s", p.Namespace, p.Name, p.Checksum, typ),
	}
	if et := p.Metadata[flaggerEventType]; et != "" {
		in.Labels["flagger_event_type"] = et
	}
	if ms := p.Metadata[flaggerEventTime]; ms != "" {
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return "", EventInput{}, &gate.FieldError{Field: "metadata." + flaggerEventTime,
				Message: fmt.Sprintf("must be milliseconds since 1970 as Flagger sends, got %q", ms)}
		}
		in.Time = time.UnixMilli(n).UTC().Format(time.RFC3339Nano)
	}
	attempt := p.Metadata[gate.ParamAttempt]
	if attempt == "" {
		attempt = p.Checksum
	}
	if attempt != "" {
		in.Attempt, _ = json.Marshal(attempt) // a string always encodes
	}
	return patchID, in, nil
}

// renameFlaggerEventField points an event field error at the payload key
// it came from.
func renameFlaggerEventField(err error) error {
	var fe *gate.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	from := map[string]string{
		"service": "metadata.service", "stage": "metadata.stage", "cluster": "metadata.cluster",
		"severity": "metadata.severity", "attempt": "metadata.attempt", "patch_id": "metadata.patch_id",
		"time": "metadata." + flaggerEventTime, "detail": "metadata." + flaggerEventMessage,
	}
	if f, ok := from[fe.Field]; ok {
		return &gate.FieldError{Field: f, Message: fe.Message}
	}
	return err
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
