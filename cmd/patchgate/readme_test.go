package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeSection returns the README's text under a "## " heading, up to
// the next one.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "\n## "+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no section %q", heading)
	}
	s = s[i+len(heading)+5:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

// Every flag a command's -h prints appears in the README's command list,
// on that command's line.
func TestREADMEListsEveryFlag(t *testing.T) {
	commands := readmeSection(t, "Commands")
	flagLine := regexp.MustCompile(`(?m)^\s+-([a-z][a-z0-9-]*)`)
	for _, cmd := range [][]string{
		{"serve"}, {"check"}, {"demo"}, {"report"}, {"backtest"}, {"publish"},
		{"generate", "integrations"}, {"generate", "rules"}, {"generate", "alerts"},
		{"generate", "alertmanager"}, {"generate", "dashboards"},
		{"config", "validate"}, {"audit", "verify"},
	} {
		name := "patchgate " + strings.Join(cmd, " ")
		var out, help bytes.Buffer
		run(context.Background(), append(cmd, "-h"), &out, &help)
		flags := flagLine.FindAllStringSubmatch(help.String(), -1)
		if len(flags) == 0 {
			t.Errorf("%s -h lists no flags:\n%s", name, help.String())
			continue
		}
		// The command's lines: from its first mention to the next command.
		var lines []string
		for _, l := range strings.Split(commands, "\n") {
			if strings.HasPrefix(l, name+" ") || strings.TrimSpace(l) == name ||
				(len(lines) > 0 && strings.HasPrefix(l, " ")) {
				lines = append(lines, l)
			} else if len(lines) > 0 && !strings.HasPrefix(l, name) {
				break
			}
		}
		if len(lines) == 0 {
			t.Errorf("README's Commands do not list %s", name)
			continue
		}
		text := strings.Join(lines, "\n")
		for _, f := range flags {
			if !strings.Contains(text, "--"+f[1]) {
				t.Errorf("README: %s does not mention --%s (in its -h)", name, f[1])
			}
		}
	}
}

// The events row of the endpoint table states every answer, the 409 for
// an Idempotency-Key reused with another body among them.
func TestREADMEEventsRow(t *testing.T) {
	s := readmeSection(t, "Asking the gate")
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "| `POST /v1/patches/{id}/events`") {
			for _, want := range []string{"201", "200", "409", "422", "Idempotency-Key"} {
				if !strings.Contains(l, want) {
					t.Errorf("events row does not mention %s: %s", want, l)
				}
			}
			return
		}
	}
	t.Fatal("README has no row for POST /v1/patches/{id}/events")
}

// The README's first example asks the demo at the address the demo was
// told to listen on, and the answer shown is for the same rollout.
func TestREADMEGateExample(t *testing.T) {
	s := readmeSection(t, "Asking the gate")
	listen := regexp.MustCompile(`patchgate demo --serve --listen (\S+)`).FindStringSubmatch(s)
	curl := regexp.MustCompile(`(?s)curl .*?-d '(.*?)' (http://\S+)/v1/gate`).FindStringSubmatch(s)
	if listen == nil || curl == nil {
		t.Fatalf("README's example has no demo --listen or no curl to /v1/gate:\n%s", s)
	}
	if curl[2] != "http://"+listen[1] {
		t.Errorf("curl asks %s, the demo listens on %s", curl[2], listen[1])
	}
	var req struct {
		Service string `json:"service"`
		PatchID string `json:"patch_id"`
		Stage   string `json:"stage"`
	}
	body := strings.ReplaceAll(curl[1], "\n", "")
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("request %q: %v", body, err)
	}
	answer := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(s)
	if answer == nil {
		t.Fatal("README's example has no answer")
	}
	for _, f := range []struct{ field, want string }{
		{"service", req.Service}, {"patch_id", req.PatchID}, {"stage", req.Stage},
	} {
		if !strings.Contains(answer[1], `"`+f.field+`": "`+f.want+`"`) {
			t.Errorf("the answer shown is not for the request's %s %q", f.field, f.want)
		}
	}
}
