package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestGrafanaSection(t *testing.T) {
	c, err := Load(filepath.Join(configDir, "grafana.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Grafana{
		URL: "https://grafana.example.com/grafana", TokenFile: "secrets/good.token",
		Folder: "Patch rollouts", UIDPrefix: "pg-prod", Annotations: false,
		Token: "a-token-read-from-a-file-0123456789",
	}
	if c.Grafana != want {
		t.Errorf("grafana:\n got %+v\nwant %+v", c.Grafana, want)
	}
	if c.Grafana.Annotating() {
		t.Error("Annotating() with annotations: false")
	}
}

func TestGrafanaReadToken(t *testing.T) {
	dir := filepath.Join(configDir)
	t.Setenv("PATCHGATE_TEST_GRAFANA_TOKEN", "  glsa_env_token  ")
	t.Setenv("PATCHGATE_TEST_GRAFANA_EMPTY", "")
	cases := []struct {
		g       Grafana
		want    string
		wantErr string
	}{
		{Grafana{}, "", ""},
		{Grafana{TokenEnv: "PATCHGATE_TEST_GRAFANA_TOKEN"}, "glsa_env_token", ""},
		{Grafana{TokenEnv: "PATCHGATE_TEST_GRAFANA_EMPTY"}, "", "grafana.token_env: environment variable PATCHGATE_TEST_GRAFANA_EMPTY is not set or empty"},
		{Grafana{TokenFile: "secrets/good.token"}, "a-token-read-from-a-file-0123456789", ""},
		{Grafana{TokenFile: "secrets/missing.token"}, "", "grafana.token_file: open " + filepath.Join(dir, "secrets/missing.token")},
	}
	for _, tc := range cases {
		got, err := tc.g.ReadToken(dir)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)):
			t.Errorf("%+v: error %v, want %q", tc.g, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%+v: %v", tc.g, err)
		case got != tc.want:
			t.Errorf("%+v: token %q, want %q", tc.g, got, tc.want)
		}
	}
}
