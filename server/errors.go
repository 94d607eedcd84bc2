package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/store"
)

// APIError is the body of every non-2xx answer, inside an envelope:
//
//	{"error":{"status":422,"field":"patch_id","message":"is required"}}
//
// The server returns it from handlers and the Client returns it to callers.
type APIError struct {
	Status  int    `json:"status"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// RetryAfterSeconds, when above 0, is sent as the Retry-After header.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
}

// storeRetryAfter is how long a caller is asked to wait after the store
// failed: long enough for a lock to clear or a PostgreSQL failover to
// finish, short against a stage's max_wait.
const storeRetryAfter = 5

// storeUnavailable is the answer when the store fails. The driver's text
// stays in the log: it names files, hosts and SQL.
var storeUnavailable = APIError{Status: http.StatusServiceUnavailable,
	Message: "store unavailable, retry", RetryAfterSeconds: storeRetryAfter}

func (e *APIError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("%d %s: %s: %s", e.Status, http.StatusText(e.Status), e.Field, e.Message)
}

// errorEnvelope is the JSON shape of an APIError on the wire.
type errorEnvelope struct {
	Error *APIError `json:"error"`
}

func badRequest(field, format string, args ...any) *APIError {
	return &APIError{Status: http.StatusBadRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// toAPIError is the one place errors become statuses.
func toAPIError(err error) *APIError {
	var (
		apiErr      *APIError
		fieldErr    *gate.FieldError
		notFoundErr *gate.NotFoundError
		httpErr     *echo.HTTPError
		tooLargeErr *http.MaxBytesError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &fieldErr):
		return &APIError{Status: http.StatusUnprocessableEntity, Field: fieldErr.Field, Message: fieldErr.Message}
	case errors.As(err, &notFoundErr):
		return &APIError{Status: http.StatusNotFound, Field: notFoundErr.Field,
			Message: fmt.Sprintf("unknown %s %q", notFoundErr.Field, notFoundErr.Value)}
	case errors.Is(err, store.ErrNotFound):
		return &APIError{Status: http.StatusNotFound, Message: "not found"}
	case errors.As(err, &tooLargeErr):
		return &APIError{Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("request body exceeds %d bytes", tooLargeErr.Limit)}
	case errors.Is(err, store.ErrUnavailable):
		// Before the deadline cases: a store write that ran out of time
		// is the store's failure, and worth a retry.
		ae := storeUnavailable
		return &ae
	case errors.As(err, &httpErr):
		// echo's own errors: unknown route, wrong method.
		return &APIError{Status: httpErr.Code, Message: fmt.Sprint(httpErr.Message)}
	case errors.Is(err, context.DeadlineExceeded):
		return &APIError{Status: http.StatusServiceUnavailable, Message: "gate evaluation timed out"}
	case errors.Is(err, context.Canceled):
		return &APIError{Status: http.StatusServiceUnavailable, Message: "request canceled"}
	default:
		// Details stay in the log: they may name internal hosts.
		return &APIError{Status: http.StatusInternalServerError, Message: "internal error (see the server log)"}
	}
}

// handleError is echo's HTTPErrorHandler: every error, including echo's own
// 404 and 405 and recovered panics, is answered with the JSON envelope.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	ae := toAPIError(err)
	if ae.Status >= http.StatusInternalServerError {
		s.logger.ErrorContext(c.Request().Context(), "request failed",
			"method", c.Request().Method, "path", c.Path(), "status", ae.Status, "err", err)
	}
	if ae.RetryAfterSeconds > 0 {
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(ae.RetryAfterSeconds))
	}
	if err := c.JSON(ae.Status, errorEnvelope{Error: ae}); err != nil {
		s.logger.ErrorContext(c.Request().Context(), "writing error response", "err", err)
	}
}

// logPanic logs a recovered panic and turns it into a plain 500, whatever
// value was thrown.
func (s *Server) logPanic(c echo.Context, err error, stack []byte) error {
	s.logger.ErrorContext(c.Request().Context(), "panic in handler",
		"method", c.Request().Method, "path", c.Path(), "panic", err, "stack", string(stack))
	return &APIError{Status: http.StatusInternalServerError, Message: "internal error (see the server log)"}
}
