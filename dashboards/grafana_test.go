package dashboards

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseGrafana(t *testing.T) {
	for _, tc := range []struct {
		in     string
		schema int
		err    string
	}{
		{in: "", schema: 42},
		{in: "latest", schema: 42},
		{in: "10", schema: 38},
		{in: "10.0.0", schema: 38},
		{in: "10.4.3", schema: 38},
		{in: "11", schema: 39},
		{in: "v11.3.0", schema: 39},
		{in: "11.6.0-84846", schema: 39},
		{in: "12", schema: 41},
		{in: "12.1.1", schema: 41},
		{in: "12.2", schema: 42},
		{in: "13.0.1", schema: 42},
		{in: "9.5.2", err: "Grafana 10 or later is needed"},
		{in: "eleven", err: "want a release such as 10, 11.6 or 12.2.1"},
		{in: "11.x", err: "want a release such as"},
	} {
		g, err := ParseGrafana(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("%q: error %v, want one naming the value and saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || g.Schema != tc.schema {
			t.Errorf("%q: schemaVersion %d, %v; want %d", tc.in, g.Schema, err, tc.schema)
		}
	}
}

func decode(t *testing.T, d Dashboard) map[string]any {
	t.Helper()
	b, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", d.UID, err)
	}
	return m
}

// TestBuildForGrafana checks that a dashboard written for Grafana 10 or 11
// carries that release's schemaVersion, none of the options it lacks, and
// otherwise the same content as the latest one.
func TestBuildForGrafana(t *testing.T) {
	cfg := testConfig(t)
	latest, err := BuildFor(cfg, Latest)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version string
		schema  int
		absent  []string
		kept    []string
	}{
		{"10", 38, []string{"showPercentChange", "percentChangeColorMode", "allowCustomValue"}, nil},
		{"10.4", 38, []string{"percentChangeColorMode", "allowCustomValue"}, []string{"showPercentChange"}},
		{"11", 39, []string{"percentChangeColorMode", "allowCustomValue"}, []string{"showPercentChange"}},
		{"11.6", 39, nil, []string{"showPercentChange", "percentChangeColorMode", "allowCustomValue"}},
		{"12", 41, nil, []string{"showPercentChange", "percentChangeColorMode", "allowCustomValue"}},
	} {
		g, err := ParseGrafana(tc.version)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := BuildFor(cfg, g)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for i, d := range ds {
			b, _ := d.JSON()
			got := decode(t, d)
			if got["schemaVersion"] != float64(tc.schema) {
				t.Errorf("Grafana %s: %s has schemaVersion %v, want %d", tc.version, d.UID, got["schemaVersion"], tc.schema)
			}
			for _, k := range tc.absent {
				if strings.Contains(string(b), `"`+k+`"`) {
					t.Errorf("Grafana %s: %s still writes %s", tc.version, d.UID, k)
				}
			}
			for _, k := range tc.kept {
				if strings.Contains(string(b), `"`+k+`"`) {
					seen[k] = true
				}
			}
			// The latest dashboard without what this release lacks is this one.
			want := decode(t, latest[i])
			want["schemaVersion"] = float64(tc.schema)
			strip(want, tc.absent)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Grafana %s: %s differs from the latest dashboard beyond schemaVersion and %v", tc.version, d.UID, tc.absent)
			}
		}
		for _, k := range tc.kept {
			if !seen[k] {
				t.Errorf("Grafana %s: no dashboard writes %s, which it has", tc.version, k)
			}
		}
	}
}

func strip(v any, keys []string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range keys {
			delete(v, k)
		}
		for _, x := range v {
			strip(x, keys)
		}
	case []any:
		for _, x := range v {
			strip(x, keys)
		}
	}
}

// TestMigrationsAfter38ChangeNothing holds the dashboards to what makes
// schemaVersion 38 exact for them: Grafana's migrations 39 to 42 would
// change nothing they hold (timeSeriesTable transformations, a refresh
// that is not a string, timepicker.time_options, hideFrom overrides).
func TestMigrationsAfter38ChangeNothing(t *testing.T) {
	for _, d := range build(t) {
		m := decode(t, d)
		if _, ok := m["refresh"].(string); !ok {
			t.Errorf("%s: refresh %v is not a string (migration 40)", d.UID, m["refresh"])
		}
		if tp, ok := m["timepicker"].(map[string]any); ok {
			if _, ok := tp["time_options"]; ok {
				t.Errorf("%s: timepicker.time_options (migration 41)", d.UID)
			}
		}
		b, _ := d.JSON()
		if strings.Contains(string(b), `"timeSeriesTable"`) {
			t.Errorf("%s: a timeSeriesTable transformation (migration 39)", d.UID)
		}
		if strings.Contains(string(b), `"custom.hideFrom"`) {
			t.Errorf("%s: a hideFrom override (migration 42)", d.UID)
		}
	}
}
