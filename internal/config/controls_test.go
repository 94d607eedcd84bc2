package config

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEffectiveControls(t *testing.T) {
	c, err := Load(filepath.Join(configDir, "controls.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Concurrency.QueueTimeout != DefaultQueueTimeout || c.Concurrency.StaleAfter != DefaultStaleAfter {
		t.Errorf("concurrency defaults = %v, %v", c.Concurrency.QueueTimeout, c.Concurrency.StaleAfter)
	}
	svc, _ := c.Service("demo")
	got := c.EffectiveControls(svc)
	if len(got.Windows) != 1 || got.Windows[0].TimeZone.String() != "Asia/Tokyo" {
		t.Errorf("windows = %+v, want the service's own", got.Windows)
	}
	if len(got.Freezes) != 2 {
		t.Errorf("freezes = %+v, want the top-level two", got.Freezes)
	}
	if got.Emergency == nil || len(got.Emergency.Severities) != 2 {
		t.Errorf("emergency = %+v, want the service's", got.Emergency)
	}
	if top := c.EffectiveControls(nil); len(top.Windows) != 2 || top.Windows[1].Start.String() != "09:00" {
		t.Errorf("top-level windows = %+v (an unquoted 09:00 must read as the text 09:00)", top.Windows)
	}
}

func TestParseClock(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:00", 0, true},
		{"04:30", 4*time.Hour + 30*time.Minute, true},
		{"24:00", 24 * time.Hour, true},
		{"24:01", 0, false},
		{"4:00", 0, false},
		{"12:60", 0, false},
		{"-1:00", 0, false},
		{"", 0, false},
	} {
		got, err := ParseClock(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// The controls are read once into the values the gate uses: it never
// parses a clock, weekday, zone or time again.
func TestControlsCompiled(t *testing.T) {
	c, err := Load(filepath.Join(configDir, "controls.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Controls.Windows[0]
	days := make([]time.Weekday, len(w.Weekdays))
	for i, d := range w.Weekdays {
		days[i] = d.Day()
	}
	if want := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday}; !slices.Equal(days, want) {
		t.Errorf("weekdays = %v, want %v", days, want)
	}
	if w.Start.Since() != 22*time.Hour || w.End.Since() != 4*time.Hour || w.TimeZone.Location().String() != "Europe/Berlin" {
		t.Errorf("window = %s–%s %s", w.Start, w.End, w.TimeZone.Location())
	}
	if sat := c.Controls.Windows[1]; sat.Start.Since() != 9*time.Hour || sat.End.Since() != 24*time.Hour || sat.TimeZone.Location() != time.UTC {
		t.Errorf("second window = %s–%s %s, want 09:00–24:00 UTC", sat.Start, sat.End, sat.TimeZone.Location())
	}
	f := c.Controls.Freezes[0]
	if want := time.Date(2026, 12, 19, 23, 0, 0, 0, time.UTC); !f.From.Time().Equal(want) || !f.To.Time().After(f.From.Time()) {
		t.Errorf("freeze = %s to %s, want from %s", f.From.Time(), f.To.Time(), want)
	}
}

// Bad clocks, weekdays, zones and times are all reported at once, each
// at its field.
func TestControlsBadValuesAllReported(t *testing.T) {
	_, err := Parse("bad.yml", []byte(`
source: {type: embedded}
controls:
  windows:
    - {weekdays: [mon, funday], start: "25:00", end: "4am", time_zone: Mars/Olympus}
  freezes:
    - {from: yesterday, to: "2027-01-04T00:00:00Z", reason: r}
services: []
`))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v, want problems", err)
	}
	want := []string{
		"controls.windows[0].weekdays[1]", "controls.windows[0].start", "controls.windows[0].end",
		"controls.windows[0].time_zone", "controls.freezes[0].from",
	}
	text := err.Error()
	for _, field := range want {
		if !strings.Contains(text, field+":") {
			t.Errorf("problems do not name %s:\n%s", field, text)
		}
	}
}

// A freeze's period is starts_at and ends_at, as in the API; from and to
// are still read, with a warning at their line, and both names for one
// bound are an error at the old one.
func TestFreezeDeprecatedKeys(t *testing.T) {
	const head = "source: {type: embedded}\nservices:\n  - name: web\n    sli: {errors: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}\n    slo: {objective: 99}\n    stages: [{name: canary}]\ncontrols:\n  freezes:\n"
	c, err := Parse("f.yml", []byte(head+`    - {from: "2026-12-20T00:00:00Z", to: "2027-01-04T00:00:00Z", reason: year end}
    - {starts_at: "2026-12-20T00:00:00Z", ends_at: "2027-01-04T00:00:00Z", reason: year end}
`))
	if err != nil {
		t.Fatal(err)
	}
	old, cur := c.Controls.Freezes[0], c.Controls.Freezes[1]
	if !old.From.Time().Equal(cur.From.Time()) || !old.To.Time().Equal(cur.To.Time()) || !old.From.IsSet() {
		t.Errorf("from/to read as %s to %s, starts_at/ends_at as %s to %s", old.From, old.To, cur.From, cur.To)
	}
	want := []string{
		"f.yml:9:8: controls.freezes[0].from: from is deprecated: rename it starts_at",
		"f.yml:9:38: controls.freezes[0].to: to is deprecated: rename it ends_at",
	}
	var got []string
	for _, w := range c.Warnings {
		got = append(got, w.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	_, err = Parse("f.yml", []byte(head+`    - {from: "2026-12-20T00:00:00Z", starts_at: "2026-12-20T00:00:00Z", ends_at: "2027-01-04T00:00:00Z", reason: r}
`))
	if err == nil || err.Error() != "f.yml:9:8: controls.freezes[0].from: is a deprecated alias of starts_at: set starts_at only" {
		t.Errorf("both names: %v", err)
	}
}
