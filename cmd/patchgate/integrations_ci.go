package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/server"
)

// checkOutput prints what `patchgate check` learns: in text, every
// decision on stdout; in JSON, only the final decision (or the error) on
// stdout, as one object a CI step can read with jq, and the rest on stderr.
type checkOutput struct {
	json           bool
	stdout, stderr io.Writer
}

func newCheckOutput(format string, stdout, stderr io.Writer) (checkOutput, error) {
	switch format {
	case "text":
		return checkOutput{stdout: stdout, stderr: stderr}, nil
	case "json":
		return checkOutput{json: true, stdout: stdout, stderr: stderr}, nil
	}
	return checkOutput{}, fmt.Errorf("--output must be text or json, got %q", format)
}

// decision prints d; final is true when check exits with it.
func (o checkOutput) decision(d gate.Decision, final bool) error {
	if !o.json {
		fmt.Fprintf(o.stdout, "%s: %s\n  decision %s, %s %s at %s, look %d of %d\n",
			d.Decision, d.Reason, d.ID, d.Service, d.Stage, d.EvaluatedAt.Format(time.RFC3339), d.Window.Look, d.Window.Looks)
		return nil
	}
	if !final {
		fmt.Fprintf(o.stderr, "%s: %s (asking again in %ds)\n", d.Decision, d.Reason, max(d.RetryAfterSeconds, 1))
		return nil
	}
	return o.encode(d)
}

// note is a line for people: stdout in text, stderr in JSON.
func (o checkOutput) note(format string, args ...any) {
	w := o.stdout
	if o.json {
		w = o.stderr
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// failure prints, in JSON, the error envelope the server answered (or one
// with status 0 when there was no answer).
func (o checkOutput) failure(err error) {
	if !o.json {
		return
	}
	e := &server.APIError{Message: err.Error()}
	var apiErr *server.APIError
	if errors.As(err, &apiErr) {
		e = apiErr
	}
	_ = o.encode(struct {
		Error *server.APIError `json:"error"`
	}{e})
}

func (o checkOutput) encode(v any) error {
	enc := json.NewEncoder(o.stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
