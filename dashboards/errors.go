package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-openapi/runtime"
	"github.com/grafana/grafana-openapi-client-go/models"
)

// Error is a Grafana request that failed: refused (Status 4xx), failing
// (5xx or 429 until the retries ran out) or unanswered (Status 0).
type Error struct {
	// Op is what was being done, e.g. "save dashboard pg-oncall".
	Op     string
	Status int
	// Reason is Grafana's status word where it gives one, e.g.
	// "version-mismatch" or "name-exists" on a 412.
	Reason  string
	Message string
	Err     error
}

func (e *Error) Error() string {
	var hint string
	switch e.Status {
	case http.StatusUnauthorized:
		hint = "Grafana refused the token: set GRAFANA_TOKEN (or grafana.token_env / token_file) to a valid service account token"
	case http.StatusForbidden:
		hint = "the token may not do this: give its service account the Editor role, or write access to the folder"
	case http.StatusPreconditionFailed:
		switch e.Reason {
		case "version-mismatch":
			hint = "the dashboard changed in Grafana while patchgate was publishing it; run publish again"
		case "name-exists":
			hint = "another dashboard in the folder has the same title: rename or move it"
		default:
			hint = "Grafana refused the change as a conflict"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "grafana: %s: ", e.Op)
	var sErr *StatusError
	switch {
	case errors.As(e.Err, &sErr):
		b.WriteString(sErr.Error())
	case e.Status != 0:
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
		if e.Message != "" {
			fmt.Fprintf(&b, " (%s)", e.Message)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	}
	if hint != "" {
		b.WriteString(": ")
		b.WriteString(hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: Grafana
// failing or unreachable, not refusing.
func (e *Error) Temporary() bool {
	return e.Status == 0 || retryable(e.Status)
}

// status is the HTTP status of a failed call, 0 if none.
func status(err error) int {
	var coded interface{ Code() int }
	var apiErr *runtime.APIError
	var sErr *StatusError
	switch {
	case errors.As(err, &sErr):
		return sErr.Status
	case errors.As(err, &coded):
		return coded.Code()
	case errors.As(err, &apiErr):
		return apiErr.Code
	}
	return 0
}

// apiError turns a failed call of the generated client into an *Error.
func apiError(op string, err error) error {
	e := &Error{Op: op, Status: status(err), Err: err}
	var payload interface {
		GetPayload() *models.ErrorResponseBody
	}
	if errors.As(err, &payload) {
		if p := payload.GetPayload(); p != nil {
			if p.Message != nil {
				e.Message = *p.Message
			}
			e.Reason = p.Status
		}
	}
	var sErr *StatusError
	if errors.As(err, &sErr) {
		e.Message = sErr.Message
	}
	return e
}

// bodyMessage is the "message" of a JSON error body, else the body itself,
// shortened.
func bodyMessage(b []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		return m.Message
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
