package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
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

// errInvalid marks a call the store refuses for its arguments: a bug in
// the caller, not a failure to retry.
var errInvalid = errors.New("invalid argument")

func invalid(msg string) error { return fmt.Errorf("%s (%w)", msg, errInvalid) }

// unavailable marks err, from a store operation, as ErrUnavailable unless
// it is about the data rather than the database: nil, ErrNotFound, an
// invalid argument, or a stored row that does not decode (a time or JSON
// that does not parse) are returned as they are.
func unavailable(err error) error {
	var (
		parseErr  *time.ParseError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case err == nil, errors.Is(err, ErrUnavailable), errors.Is(err, ErrNotFound), errors.Is(err, errInvalid),
		errors.As(err, &parseErr), errors.As(err, &syntaxErr), errors.As(err, &typeErr):
		return err
	}
	return &unavailableError{err: err}
}
