package config

import (
	"path/filepath"
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
	if len(got.Windows) != 1 || got.Windows[0].TimeZone != "Asia/Tokyo" {
		t.Errorf("windows = %+v, want the service's own", got.Windows)
	}
	if len(got.Freezes) != 2 {
		t.Errorf("freezes = %+v, want the top-level two", got.Freezes)
	}
	if got.Emergency == nil || len(got.Emergency.Severities) != 2 {
		t.Errorf("emergency = %+v, want the service's", got.Emergency)
	}
	if top := c.EffectiveControls(nil); len(top.Windows) != 2 || top.Windows[1].Start != "09:00" {
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
