package store

import (
	"errors"
	"strings"
)

// ErrUnavailable marks a failure of the database under the store: it is
// unreachable, full, read-only, locked past the busy timeout, or the
// operation ran out of time. Nothing about the request is wrong: the
// caller may retry. Errors the store returns wrap it (errors.Is) beside
// the driver's own error; ErrNotFound and bad arguments do not.
var ErrUnavailable = errors.New("store unavailable")

// unavailableError keeps the driver's error for the log and answers
// errors.Is(err, ErrUnavailable).
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// unavailable marks err, an error from the database, as ErrUnavailable.
// nil, ErrNotFound and errors already marked are returned as they are.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		return err
	}
	return &unavailableError{err: err}
}

// diskFull reports whether err is the database saying it cannot grow.
func diskFull(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_FULL") || strings.Contains(msg, "disk is full") ||
		strings.Contains(msg, "No space left") || strings.Contains(msg, "SQLSTATE 53100")
}
