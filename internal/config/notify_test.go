package config

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestNotifyDefaultsAndSecrets(t *testing.T) {
	setSecrets(t)
	c, err := Load(filepath.Join(configDir, "notify.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	slack, audit := c.Notify.Webhooks[0], c.Notify.Webhooks[1]
	if slack.Format != FormatSlack || !slices.Equal(slack.On, []string{"no_go"}) || !slack.Shadow ||
		slack.Resolved != "https://hooks.slack.com/services/T000/B000/XXXXSECRET" {
		t.Errorf("slack webhook %+v: want format slack, on [no_go], shadow, the URL from its file", slack)
	}
	if audit.Format != FormatJSON || !slices.Equal(audit.On, []string{"no_go", "wait", "go"}) || audit.Shadow {
		t.Errorf("json webhook %+v", audit)
	}
	if c.UI.SessionKey != "a-session-key-of-at-least-32-bytes-0123456789" || time.Duration(c.UI.SessionTTL) != 8*time.Hour {
		t.Errorf("ui %+v", c.UI)
	}
}
