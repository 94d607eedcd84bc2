package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
)

// Flagger webhook types with a meaning of their own here.
const (
	flaggerRollbackHook = "rollback"
	flaggerEventHook    = "event"
)

// Metadata keys the Flagger endpoint reads itself; every other key of a
// gate hook's metadata is a request parameter.
const (
	flaggerKeyService = "service"
	flaggerKeyPatchID = "patch_id"
	flaggerKeyStage   = "stage"
)

// flaggerPayload is the body Flagger (v1.36, pkg/controller/webhook.go)
// POSTs to every webhook. Fields added by later Flagger versions are
// ignored rather than refused, so an upgrade of Flagger cannot stop
// rollouts.
type flaggerPayload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata"`
}

// handleFlagger answers POST /v1/integrations/flagger/{hook}[/t/{token}].
// Flagger proceeds on 200-202 and treats any other status as "no"; it
// retries 429 and 5xx, so a no_go or wait is a 412 (never retried) with
// the reason as the plain-text body Flagger shows in its events.
func (s *Server) handleFlagger(c echo.Context) error {
	hook := c.Param("hook")
	if !slices.Contains(config.FlaggerHooks(), hook) {
		return &APIError{Status: http.StatusNotFound, Field: "hook",
			Message: fmt.Sprintf("unknown Flagger webhook type %q: want one of %s", hook, strings.Join(config.FlaggerHooks(), ", "))}
	}
	p, err := decodeFlagger(http.MaxBytesReader(c.Response(), c.Request().Body, s.maxBodyBytes))
	if err != nil {
		return err
	}
	if hook == flaggerEventHook {
		return s.flaggerEvent(c, p)
	}
	req, derive, err := s.flaggerRequest(hook, p)
	if err != nil {
		return err
	}
	if derive {
		return s.flaggerDerived(c, hook, p, req)
	}
	d, err := s.decide(c.Request().Context(), "flagger "+hook, req)
	if err != nil {
		return err
	}
	if d.Decision == gate.Wait && d.RetryAfterSeconds > 0 {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(d.RetryAfterSeconds))
	}
	approve := d.Decision == gate.Go
	if hook == flaggerRollbackHook {
		// Flagger rolls back at once on a 2xx from a rollback hook.
		approve = d.Decision == gate.NoGo
	}
	if approve {
		return c.JSON(http.StatusOK, d)
	}
	return c.String(http.StatusPreconditionFailed, flaggerRefusal(hook, d))
}

// flaggerRefusal is the 412 body: Flagger copies it into its log and the
// Canary's events, so it says what was decided, why, and where to look.
func flaggerRefusal(hook string, d gate.Decision) string {
	if hook == flaggerRollbackHook {
		return fmt.Sprintf("patchgate %s, no rollback: %s (decision %s)", d.Decision, d.Reason, d.ID)
	}
	return fmt.Sprintf("patchgate %s: %s (decision %s)", d.Decision, d.Reason, d.ID)
}

func decodeFlagger(r io.Reader) (flaggerPayload, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return flaggerPayload{}, err
	}
	if !utf8.Valid(body) {
		return flaggerPayload{}, badRequest("", "request body must be valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var p flaggerPayload
	if err := dec.Decode(&p); err != nil {
		return flaggerPayload{}, decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return flaggerPayload{}, badRequest("", "unexpected data after the JSON object at byte offset %d", dec.InputOffset())
	}
	if p.Name == "" {
		return flaggerPayload{}, &gate.FieldError{Field: "name", Message: "is required (the Canary's name)"}
	}
	if p.Namespace == "" {
		return flaggerPayload{}, &gate.FieldError{Field: "namespace", Message: "is required (the Canary's namespace)"}
	}
	return p, nil
}

// flaggerTarget returns the config's mapping for the payload's Canary.
func (s *Server) flaggerTarget(p flaggerPayload) (*config.FlaggerTarget, string) {
	if s.policy == nil {
		return nil, ""
	}
	for i, t := range s.policy.Integrations.Flagger.Targets {
		if t.Namespace == p.Namespace && t.Name == p.Name {
			return &s.policy.Integrations.Flagger.Targets[i], fmt.Sprintf("integrations.flagger.targets[%d]", i)
		}
	}
	return nil, ""
}

// flaggerField picks a value from the metadata or the config mapping. Both
// may name it, but must then agree: a Canary cannot ask about another
// service than the one the operator mapped it to.
func flaggerField(p flaggerPayload, key, mapped, mappedPath string) (string, error) {
	fromMeta, ok := p.Metadata[key]
	switch {
	case ok && mapped != "" && fromMeta != mapped:
		return "", &gate.FieldError{Field: "metadata." + key,
			Message: fmt.Sprintf("is %q but %s maps Canary %s/%s to %q", fromMeta, mappedPath, p.Namespace, p.Name, mapped)}
	case ok:
		return fromMeta, nil
	}
	return mapped, nil
}

// flaggerRequest builds the gate request of a gate hook: service, patch_id
// and stage from the metadata or the config, every other metadata key as a
// parameter, and Flagger's checksum as the stage attempt. derive is true
// when neither names a stage and the hook is one whose stage patchgate
// follows itself (integrations_flagger_stage.go); the request's stage is
// then the service's first, to be replaced.
func (s *Server) flaggerRequest(hook string, p flaggerPayload) (req gate.Request, derive bool, err error) {
	target, path := s.flaggerTarget(p)
	var mappedService, mappedStage string
	if target != nil {
		mappedService, mappedStage = target.Service, target.StageFor(hook)
	}
	service, err := flaggerField(p, flaggerKeyService, mappedService, path+".service")
	if err != nil {
		return gate.Request{}, false, err
	}
	stagePath := path + ".stage"
	if target != nil && target.StageByHook[hook] != "" {
		stagePath = path + ".stage_by_hook." + hook
	}
	stage, err := flaggerField(p, flaggerKeyStage, mappedStage, stagePath)
	if err != nil {
		return gate.Request{}, false, err
	}
	if service != "" && stage == "" && s.policy != nil && slices.Contains(flaggerDerivedHooks, hook) {
		svc, ok := s.policy.Service(service)
		if !ok {
			return gate.Request{}, false, &APIError{Status: http.StatusNotFound, Field: "metadata." + flaggerKeyService,
				Message: fmt.Sprintf("unknown service %q", service)}
		}
		stage, derive = svc.Stages[0].Name, true
	}
	for _, f := range []struct{ key, v string }{{flaggerKeyService, service}, {flaggerKeyStage, stage}} {
		if f.v == "" {
			return gate.Request{}, false, &gate.FieldError{Field: "metadata." + f.key,
				Message: fmt.Sprintf("is required: set it in the webhook's metadata or map Canary %s/%s in integrations.flagger.targets", p.Namespace, p.Name)}
		}
	}
	patchID := p.Metadata[flaggerKeyPatchID]
	if patchID == "" {
		patchID = flaggerPatchID(p.Checksum)
	}
	if patchID == "" {
		return gate.Request{}, false, &gate.FieldError{Field: "metadata." + flaggerKeyPatchID,
			Message: "is required when the payload has no checksum"}
	}
	params := map[string]string{}
	for k, v := range p.Metadata {
		switch k {
		case flaggerKeyService, flaggerKeyPatchID, flaggerKeyStage:
		default:
			params[k] = v
		}
	}
	if _, ok := params[gate.ParamAttempt]; !ok && p.Checksum != "" {
		params[gate.ParamAttempt] = p.Checksum
	}
	req, err = checkRequest(gate.Request{Service: service, PatchID: patchID, Stage: stage, Params: params})
	if err != nil {
		return gate.Request{}, false, renameFlaggerField(err)
	}
	return req, derive, nil
}

// flaggerPatchID names the patch of a Canary whose webhook metadata does
// not: Flagger's checksum changes with every new revision it rolls out.
func flaggerPatchID(checksum string) string {
	if checksum == "" {
		return ""
	}
	return "flagger-" + checksum
}

// renameFlaggerField points a field error at the payload: a parameter is
// a metadata key there.
func renameFlaggerField(err error) error {
	var fe *gate.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	switch f := fe.Field; {
	case strings.HasPrefix(f, "params."):
		return &gate.FieldError{Field: "metadata." + strings.TrimPrefix(f, "params."), Message: fe.Message}
	case f == "params":
		return &gate.FieldError{Field: "metadata", Message: fe.Message}
	case slices.Contains([]string{flaggerKeyService, flaggerKeyPatchID, flaggerKeyStage}, f):
		return &gate.FieldError{Field: "metadata." + f, Message: fe.Message}
	}
	return err
}
