package config

import (
	"strings"
	"testing"
	"time"
)

func TestAlertFor(t *testing.T) {
	t.Chdir(configDir)
	c, err := Load("alerting.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]time.Duration{
		AlertHostPatchFailed:     30 * time.Minute, // set
		AlertCanaryErrors:        0,                // set to 0s
		AlertCoverageUnderTarget: 24 * time.Hour,   // default
	} {
		if got := time.Duration(c.Alerting.AlertFor(name)); got != want {
			t.Errorf("%s: for %v, want %v", name, got, want)
		}
	}
	if got := c.Alerting.Receivers.Ticket.Name; got != DefaultTicketReceiver {
		t.Errorf("ticket receiver %q, want the default %q", got, DefaultTicketReceiver)
	}
	for name := range DefaultAlertFor() {
		if !strings.HasPrefix(name, "Patchgate") {
			t.Errorf("%s: alert names start with Patchgate", name)
		}
	}
	if len(DefaultAlertFor()) != len(AlertNames()) {
		t.Errorf("%d defaults for %d alerts", len(DefaultAlertFor()), len(AlertNames()))
	}
}
