package config

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// The types below are read from the file once, into what the gate uses:
// a time of day, a weekday, a time zone, an instant. Each keeps the text
// as written and, when it does not parse, why: validation reports that
// with every other problem of the file at once, and a Config that passed
// validation holds only values that parsed, so no package below re-parses
// them or has an error path that cannot fire.

// Clock is a time of day written "HH:MM", from 00:00 to 24:00.
type Clock struct {
	since time.Duration
	text  string
	err   error
}

// ClockOf reads a time of day as the file would.
func ClockOf(text string) Clock {
	c := Clock{text: text}
	c.since, c.err = ParseClock(text)
	return c
}

// Since is the time since midnight (24:00 is 24h).
func (c Clock) Since() time.Duration { return c.since }

// IsSet reports whether the file set the clock.
func (c Clock) IsSet() bool { return c.text != "" }

// String writes the clock as HH:MM (as written when it did not parse).
func (c Clock) String() string {
	if c.err != nil || !c.IsSet() {
		return c.text
	}
	return fmt.Sprintf("%02d:%02d", int(c.since/time.Hour), int(c.since%time.Hour/time.Minute))
}

func (c *Clock) UnmarshalYAML(node ast.Node) error {
	text, err := scalarText(node, `a time of day such as "22:00"`)
	if err == nil {
		*c = ClockOf(text)
	}
	return err
}

func (c Clock) MarshalYAML() (any, error)    { return c.String(), nil }
func (c Clock) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// Weekday is a day of the week: mon … sun or the English name, any case.
type Weekday struct {
	day  time.Weekday
	text string
	err  error
}

// WeekdayOf reads a weekday as the file would.
func WeekdayOf(text string) Weekday {
	w := Weekday{text: text}
	w.day, w.err = ParseWeekday(text)
	return w
}

// Day is the weekday.
func (w Weekday) Day() time.Weekday { return w.day }

// String writes the weekday as written.
func (w Weekday) String() string { return w.text }

func (w *Weekday) UnmarshalYAML(node ast.Node) error {
	text, err := scalarText(node, "a weekday such as mon")
	if err == nil {
		*w = WeekdayOf(text)
	}
	return err
}

func (w Weekday) MarshalYAML() (any, error)    { return w.text, nil }
func (w Weekday) MarshalJSON() ([]byte, error) { return json.Marshal(w.text) }

// TimeZone is an IANA time zone name such as Europe/Berlin; unset is UTC.
type TimeZone struct {
	loc  *time.Location
	text string
	err  error
}

// TimeZoneOf reads a time zone as the file would.
func TimeZoneOf(text string) TimeZone {
	z := TimeZone{text: text}
	if text == "" {
		return z
	}
	loc, err := time.LoadLocation(text)
	if err != nil {
		z.err = fmt.Errorf("unknown time zone %q: want an IANA name such as Europe/Berlin", text)
		return z
	}
	z.loc = loc
	return z
}

// Location is the zone (UTC when unset).
func (z TimeZone) Location() *time.Location {
	if z.loc == nil {
		return time.UTC
	}
	return z.loc
}

// IsSet reports whether the file named a zone.
func (z TimeZone) IsSet() bool { return z.text != "" }

// String is the zone's name as written ("" when unset).
func (z TimeZone) String() string { return z.text }

func (z *TimeZone) UnmarshalYAML(node ast.Node) error {
	text, err := scalarText(node, "a time zone such as Europe/Berlin")
	if err == nil {
		*z = TimeZoneOf(text)
	}
	return err
}

func (z TimeZone) MarshalYAML() (any, error)    { return z.text, nil }
func (z TimeZone) MarshalJSON() ([]byte, error) { return json.Marshal(z.text) }

// Timestamp is an instant written in RFC 3339, such as 2026-12-20T00:00:00+01:00.
type Timestamp struct {
	t    time.Time
	text string
	err  error
}

// TimestampOf reads an instant as the file would.
func TimestampOf(text string) Timestamp {
	ts := Timestamp{text: text}
	if text == "" {
		return ts
	}
	t, err := time.Parse(time.RFC3339, text)
	if err != nil {
		ts.err = fmt.Errorf("want an RFC 3339 time such as 2026-12-20T00:00:00+01:00, got %q", text)
		return ts
	}
	ts.t = t
	return ts
}

// Time is the instant.
func (ts Timestamp) Time() time.Time { return ts.t }

// IsSet reports whether the file set it.
func (ts Timestamp) IsSet() bool { return ts.text != "" }

// String is the instant as written.
func (ts Timestamp) String() string { return ts.text }

func (ts *Timestamp) UnmarshalYAML(node ast.Node) error {
	text, err := scalarText(node, "an RFC 3339 time such as 2026-12-20T00:00:00Z")
	if err == nil {
		*ts = TimestampOf(text)
	}
	return err
}

func (ts Timestamp) MarshalYAML() (any, error)    { return ts.text, nil }
func (ts Timestamp) MarshalJSON() ([]byte, error) { return json.Marshal(ts.text) }

// scalarText is the text of a scalar node; any other node is an error at
// its line and column.
func scalarText(node ast.Node, want string) (string, error) {
	switch n := node.(type) {
	case *ast.StringNode:
		return n.Value, nil
	case *ast.NullNode:
		return "", nil
	case ast.ScalarNode:
		return n.GetToken().Value, nil
	}
	return "", &yaml.SyntaxError{
		Message: fmt.Sprintf("expected %s, got %s", want, describeNode(node)),
		Token:   node.GetToken(),
	}
}

// Verdict is a stage's answer once its max_wait has passed inconclusive.
type Verdict string

const (
	VerdictGo   Verdict = "go"
	VerdictNoGo Verdict = "no_go"
)

// Mode says whether the gate's answers are enforced.
type Mode string

const (
	// ModeEnforce answers what the gate evaluated.
	ModeEnforce Mode = "enforce"
	// ModeShadow answers go, with the evaluated verdict beside it.
	ModeShadow Mode = "shadow"
)

// Method is the sequential test of error_delta.
type Method string

const (
	// MethodPocock is group-sequential over the stage's looks.
	MethodPocock Method = "pocock"
	// MethodConfidenceSequence is open-ended.
	MethodConfidenceSequence Method = "confidence_sequence"
)
