package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
)

// Limits on a gate request.
const (
	maxFieldBytes      = 256
	maxParams          = 32
	maxParamKeyBytes   = 64
	maxParamValueBytes = 1024
)

// wireRequest is gate.Request as read off the wire. Values stay raw because
// encoding/json silently replaces invalid UTF-8, which must be refused
// naming the field instead.
type wireRequest struct {
	Service json.RawMessage            `json:"service"`
	PatchID json.RawMessage            `json:"patch_id"`
	Stage   json.RawMessage            `json:"stage"`
	Params  map[string]json.RawMessage `json:"params"`
}

// decodeRequest reads one JSON object from r, strictly: unknown fields,
// malformed JSON and trailing data are 400, invalid values are 422. Request
// parameters may hold any text (quotes, braces, newlines): the gate inserts
// them into PromQL only as escaped label values.
func decodeRequest(r io.Reader) (gate.Request, error) {
	var w wireRequest
	if err := decodeJSON(r, &w); err != nil {
		return gate.Request{}, err
	}
	return w.request()
}

// decodeJSON reads one JSON object from r into v, strictly: unknown
// fields, malformed JSON and trailing data are 400; a body over the limit
// is the reader's *http.MaxBytesError.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return badRequest("", "unexpected data after the JSON object at byte offset %d", dec.InputOffset())
	}
	return nil
}

// decodeError turns a json.Decoder error into a 400 naming the byte offset
// or the field where it can.
func decodeError(err error) error {
	var (
		tooLarge  *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.Is(err, io.EOF):
		return badRequest("", "empty request body, want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: unexpected end of input")
	case errors.As(err, &syntaxErr):
		return badRequest("", "malformed JSON at byte offset %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("", "request body must be a JSON object, got JSON %s", typeErr.Value)
		}
		return badRequest(typeErr.Field, "wrong type at byte offset %d: got JSON %s", typeErr.Offset, typeErr.Value)
	}
	if quoted, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name, uerr := strconv.Unquote(quoted); uerr == nil {
			return badRequest(name, "unknown field %q", name)
		}
	}
	return badRequest("", "malformed JSON: %s", err)
}

// request checks each field in order and returns the first problem.
func (w wireRequest) request() (gate.Request, error) {
	var (
		req gate.Request
		err error
	)
	if req.Service, err = requiredString("service", w.Service); err != nil {
		return gate.Request{}, err
	}
	if req.PatchID, err = requiredString("patch_id", w.PatchID); err != nil {
		return gate.Request{}, err
	}
	if req.Stage, err = requiredString("stage", w.Stage); err != nil {
		return gate.Request{}, err
	}
	if len(w.Params) > maxParams {
		return gate.Request{}, &gate.FieldError{Field: "params",
			Message: fmt.Sprintf("has %d entries, at most %d allowed", len(w.Params), maxParams)}
	}
	if w.Params == nil {
		return req, nil
	}
	req.Params = make(map[string]string, len(w.Params))
	for _, k := range slices.Sorted(maps.Keys(w.Params)) {
		if err := checkParamKey(k); err != nil {
			return gate.Request{}, err
		}
		field := "params." + k
		v, err := stringValue(field, w.Params[k])
		if err != nil {
			return gate.Request{}, err
		}
		if len(v) > maxParamValueBytes {
			return gate.Request{}, &gate.FieldError{Field: field,
				Message: fmt.Sprintf("is %d bytes, at most %d allowed", len(v), maxParamValueBytes)}
		}
		req.Params[k] = v
	}
	return req, nil
}

// stringValue decodes a raw JSON string; absent and null are "".
func stringValue(field string, raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", badRequest(field, "must be a JSON string")
	}
	if !utf8.Valid(raw) {
		return "", &gate.FieldError{Field: field, Message: "must be valid UTF-8"}
	}
	return s, nil
}

func requiredString(field string, raw json.RawMessage) (string, error) {
	s, err := stringValue(field, raw)
	switch {
	case err != nil:
		return "", err
	case s == "":
		return "", &gate.FieldError{Field: field, Message: "is required"}
	case len(s) > maxFieldBytes:
		return "", &gate.FieldError{Field: field,
			Message: fmt.Sprintf("is %d bytes, at most %d allowed", len(s), maxFieldBytes)}
	}
	return s, checkID(field, s, true)
}

// pathParam returns the path parameter name percent-decoded, the same way
// whatever the client escaped. echo routes on the raw path when it holds
// escapes the decoded path cannot show (a%2Fb, or a%40b where a@b would
// do) and then hands the parameter over still encoded; otherwise the
// parameter is already decoded and must not be decoded twice (a%25b is
// "a%b"). field names the parameter in a 400.
func pathParam(c echo.Context, name, field string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v, nil
	}
	d, err := url.PathUnescape(v)
	if err != nil {
		return "", badRequest(field, "bad percent-encoding in the path: %q", v)
	}
	return d, nil
}

// checkID checks an identifier (a patch, service, stage, cluster or
// attempt name, an idempotency key): present when required, at most
// maxFieldBytes, valid UTF-8, and free of control characters, which would
// reach logs, the UI and /metrics label values.
func checkID(field, value string, required bool) error {
	if err := checkText(field, value, maxFieldBytes, required); err != nil {
		return err
	}
	if !utf8.ValidString(value) {
		return &gate.FieldError{Field: field, Message: "must be valid UTF-8"}
	}
	for i, r := range value {
		if unicode.IsControl(r) {
			return &gate.FieldError{Field: field, Message: fmt.Sprintf("has the control character %U at byte %d: names must be printable", r, i)}
		}
	}
	return nil
}

// checkParamKey accepts keys matching [a-zA-Z_][a-zA-Z0-9_]* of at most
// maxParamKeyBytes.
func checkParamKey(k string) error {
	if len(k) > maxParamKeyBytes {
		return &gate.FieldError{Field: "params",
			Message: fmt.Sprintf("a key is %d bytes, at most %d allowed", len(k), maxParamKeyBytes)}
	}
	valid := k != ""
	for i := 0; valid && i < len(k); i++ {
		c := k[i]
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		valid = letter || i > 0 && '0' <= c && c <= '9'
	}
	if !valid {
		return &gate.FieldError{Field: "params",
			Message: fmt.Sprintf("key %q must match [a-zA-Z_][a-zA-Z0-9_]*", k)}
	}
	return nil
}
