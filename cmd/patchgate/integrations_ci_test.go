package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/server"
)

// distinctVerdicts is verdicts with one decision id per verdict: the
// server may cache an answer's encoding by decision id.
type distinctVerdicts struct{}

func (distinctVerdicts) Decide(ctx context.Context, r gate.Request) (gate.Decision, error) {
	d, err := verdicts{}.Decide(ctx, r)
	d.ID = "d-" + r.Service
	return d, err
}

func TestCheckOutputJSON(t *testing.T) {
	const token = "0123456789abcdef0123"
	srv, err := server.New(server.Config{
		Gate: distinctVerdicts{}, Decisions: noDecisions{}, Registry: prometheus.NewRegistry(),
		Tokens: []config.Token{{Name: "ci", Value: token, Scopes: []string{config.ScopeGate}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	cases := []struct {
		service string
		extra   []string
		code    int
		// decision is the verdict printed, or "" for an error envelope
		decision string
		status   int
	}{
		{"go", nil, 0, "go", 0},
		{"no_go", nil, 1, "no_go", 0},
		{"wait", nil, 75, "wait", 0},
		{"wait", []string{"--wait", "1500ms"}, 75, "wait", 0},
		{"boom", nil, 2, "", 404},
	}
	for _, tc := range cases {
		t.Run(strings.Join(append([]string{tc.service}, tc.extra...), " "), func(t *testing.T) {
			args := append([]string{"check", "--output", "json", "--server", ts.URL, "--token", token,
				"--service", tc.service, "--patch", "p-1", "--stage", "canary"}, tc.extra...)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tc.code, stdout.String(), stderr.String())
			}
			// stdout is exactly one JSON object.
			dec := json.NewDecoder(&stdout)
			var v struct {
				Decision string `json:"decision"`
				ID       string `json:"decision_id"`
				Error    *struct {
					Status  int    `json:"status"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("stdout is not JSON: %v", err)
			}
			if dec.More() {
				t.Fatalf("more than one JSON value on stdout")
			}
			if tc.decision != "" && (v.Decision != tc.decision || v.ID != "d-"+tc.service) {
				t.Errorf("printed %+v, want decision %s", v, tc.decision)
			}
			if tc.status != 0 && (v.Error == nil || v.Error.Status != tc.status || !strings.Contains(v.Error.Message, "unknown service")) {
				t.Errorf("printed %+v, want error %d", v, tc.status)
			}
		})
	}
	code, out := runCmd(t, "check", "--output", "yaml", "--server", ts.URL, "--service", "go", "--patch", "p", "--stage", "canary")
	if code != 2 || !strings.Contains(out, "--output must be text or json") {
		t.Fatalf("bad --output: exit %d %q", code, out)
	}
}

// TestGitHubActionsExample keeps examples/github-actions.yml a workflow
// that runs `patchgate check --output json` and reads its exit codes.
func TestGitHubActionsExample(t *testing.T) {
	data, err := os.ReadFile("../../examples/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Name string         `yaml:"name"`
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			RunsOn string `yaml:"runs-on"`
			Steps  []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]any    `yaml:"with"`
				Env  map[string]string `yaml:"env"`
				ID   string            `yaml:"id"`
				If   string            `yaml:"if"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	if wf.Name == "" || len(wf.On) == 0 || len(wf.Jobs) == 0 {
		t.Fatalf("not a workflow: %+v", wf)
	}
	var runs strings.Builder
	for _, j := range wf.Jobs {
		if j.RunsOn == "" {
			t.Errorf("job without runs-on")
		}
		for _, s := range j.Steps {
			runs.WriteString(s.Run)
			for k, v := range s.Env {
				runs.WriteString(k + "=" + v + "\n")
			}
		}
	}
	for _, want := range []string{"patchgate check", "--output json", "75", "PATCHGATE_TOKEN"} {
		if !strings.Contains(runs.String(), want) {
			t.Errorf("the workflow's steps do not mention %q", want)
		}
	}
}
