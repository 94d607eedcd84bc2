package config

import (
	"strings"
	"testing"
)

func TestCheckSLIQuery(t *testing.T) {
	cases := []struct {
		query   string
		wantErr string
	}{
		{`sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))`, ""},
		{`sum(rate(http_requests_total[{{ .window }}])) by (job)`, ""},
		{`sum(increase(errors_total[{{.window}}])) / 60`, ""},
		{`sum(rate(http_requests_total[5m]))`, "must contain {{.window}}"},
		{`sum(rate(http_requests_total[{{.window}}])`, "invalid PromQL with {{.window}} set to 5m: 1:34: parse error: unclosed left parenthesis"},
		{`scalar(sum(rate(x[{{.window}}])))`, "must return an instant vector, got a scalar"},
		{`rate(x[{{.window}}])[1h:]`, "must return an instant vector, got a range vector"},
	}
	for _, c := range cases {
		err := checkSLIQuery(c.query)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.query, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: got %v, want %q", c.query, err, c.wantErr)
		}
	}
}

func TestCheckTrackSelector(t *testing.T) {
	cases := []struct {
		selector string
		want     string // normalised form, when valid
		wantErr  string
	}{
		{selector: `{track="canary"}`, want: `track="canary"`},
		{selector: `{version="v2", track="canary"}`, want: `track="canary",version="v2"`},
		{selector: `{track=~"canary|primary"}`, want: `track=~"canary|primary"`},
		{selector: `{patch="{{.patch_id}}", stage="{{.stage}}-{{.attempt}}"}`, want: `patch="{{.patch_id}}",stage="{{.stage}}-{{.attempt}}"`},
		{selector: `{service="{{.service}}", cluster!="{{.params.cluster}}"}`, want: `cluster!="{{.params.cluster}}",service="{{.service}}"`},
		{selector: `track="canary"`, wantErr: "invalid label selector"},
		{selector: `{}`, wantErr: "must hold at least one label matcher"},
		{selector: `up{track="canary"}`, wantErr: "not a metric name"},
		{selector: `{v="{{.version}}"}`, wantErr: "label v: unknown template {{.version}}"},
		{selector: `{v="{{.params}}"}`, wantErr: "label v: unknown template {{.params}}"},
		{selector: `{v="{{.params.a.b}}"}`, wantErr: "label v: unknown template {{.params.a.b}}"},
		{selector: `{v="{{.patch_id | printf}}"}`, wantErr: "unknown template"},
		{selector: `{v="{{if .stage}}x{{end}}"}`, wantErr: "unknown template"},
		{selector: `{v="{{$x := .stage}}"}`, wantErr: "unknown template"},
		{selector: `{v="{{env}}"}`, wantErr: `label v: invalid template: function "env" not defined`},
		{selector: `{v="{{.stage"}`, wantErr: "label v: invalid template: unclosed action"},
	}
	for _, c := range cases {
		got, err := checkTrackSelector(c.selector)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.selector, err)
		case c.wantErr == "" && got != c.want:
			t.Errorf("%s: got %s, want %s", c.selector, got, c.want)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: got %v, want %q", c.selector, err, c.wantErr)
		}
	}
}
