package server

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
)

// Statuses of the Spinnaker answer, for a webhook stage's
// successStatuses / terminalStatuses; RUNNING is neither, so Orca keeps
// polling the status URL.
const (
	spinnakerSucceeded = "SUCCEEDED"
	spinnakerRunning   = "RUNNING"
	spinnakerTerminal  = "TERMINAL"
)

// spinnakerParamPrefix marks request parameters in the status URL's query.
const spinnakerParamPrefix = "params."

// spinnakerAnswer is the decision with the status a webhook stage reads
// (statusJsonPath $.status) and the URL it polls (Location header, or
// statusUrlJsonPath $.status_url).
type spinnakerAnswer struct {
	Status    string `json:"status"`
	StatusURL string `json:"status_url"`
	gate.Decision
}

func spinnakerStatus(v gate.Verdict) string {
	switch v {
	case gate.Go:
		return spinnakerSucceeded
	case gate.NoGo:
		return spinnakerTerminal
	}
	return spinnakerRunning
}

// handleSpinnaker answers POST /v1/integrations/spinnaker: the body is a
// gate request, the answer a decision of any verdict with HTTP 200 (Orca
// treats other 4xx as terminal and retries 5xx and 429).
func (s *Server) handleSpinnaker(c echo.Context) error {
	r := c.Request()
	req, err := decodeRequest(http.MaxBytesReader(c.Response(), r.Body, s.maxBodyBytes))
	if err != nil {
		return err
	}
	return s.answerSpinnaker(c, req)
}

// handleSpinnakerStatus answers GET on the status URL by asking the gate
// again with the same request, so a stage that was RUNNING (wait) moves on
// when the gate does. It needs the same bearer token and scope as the POST:
// a caller that may ask the gate may ask this too.
func (s *Server) handleSpinnakerStatus(c echo.Context) error {
	req, err := spinnakerStatusRequest(c.QueryParams())
	if err != nil {
		return err
	}
	return s.answerSpinnaker(c, req)
}

func (s *Server) answerSpinnaker(c echo.Context, req gate.Request) error {
	d, err := s.decide(c.Request().Context(), "spinnaker", req)
	if err != nil {
		return err
	}
	statusURL := spinnakerStatusURL(c, req)
	h := c.Response().Header()
	h.Set(echo.HeaderLocation, statusURL)
	if d.Decision == gate.Wait && d.RetryAfterSeconds > 0 {
		h.Set(echo.HeaderRetryAfter, strconv.Itoa(d.RetryAfterSeconds))
	}
	return c.JSON(http.StatusOK, spinnakerAnswer{Status: spinnakerStatus(d.Decision), StatusURL: statusURL, Decision: d})
}

// spinnakerStatusURL is the absolute URL that repeats req: Orca resolves a
// relative Location only in recent versions.
func spinnakerStatusURL(c echo.Context, req gate.Request) string {
	q := url.Values{}
	q.Set("service", req.Service)
	q.Set("patch_id", req.PatchID)
	q.Set("stage", req.Stage)
	for k, v := range req.Params {
		q.Set(spinnakerParamPrefix+k, v)
	}
	u := url.URL{Scheme: c.Scheme(), Host: c.Request().Host, Path: spinnakerStatusPath, RawQuery: q.Encode()}
	return u.String()
}

// spinnakerStatusRequest reads a status URL's query with POST /v1/gate's
// rules: service, patch_id and stage once each, params.NAME for each
// parameter, nothing else.
func spinnakerStatusRequest(q url.Values) (gate.Request, error) {
	var (
		w     wireRequest
		bytes = func(v string) json.RawMessage { b, _ := json.Marshal(v); return b }
	)
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vs := q[k]
		if len(vs) != 1 {
			return gate.Request{}, badRequest(k, "must be given once, got %d values", len(vs))
		}
		v := vs[0]
		field := k
		if !utf8.ValidString(v) {
			return gate.Request{}, &gate.FieldError{Field: field, Message: "must be valid UTF-8"}
		}
		switch {
		case k == "service":
			w.Service = bytes(v)
		case k == "patch_id":
			w.PatchID = bytes(v)
		case k == "stage":
			w.Stage = bytes(v)
		case strings.HasPrefix(k, spinnakerParamPrefix):
			if w.Params == nil {
				w.Params = map[string]json.RawMessage{}
			}
			w.Params[strings.TrimPrefix(k, spinnakerParamPrefix)] = bytes(v)
		default:
			return gate.Request{}, badRequest(k, "unknown query parameter %q: want service, patch_id, stage and params.NAME", k)
		}
	}
	return w.request()
}
