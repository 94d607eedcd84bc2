package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Grafana is the Grafana release the dashboards are written for: the
// schemaVersion they carry and the options they leave out because that
// release lacks them.
//
// Grafana migrates a dashboard of a lower schemaVersion up when it loads
// it (DashboardMigrator.ts in the browser, and since Grafana 12
// apps/dashboard/pkg/migration/schemaversion on the server); it runs no
// migration on a higher one and keeps fields it does not know. So a
// dashboard written for a release loads in that release and every later
// one. The steps after 38 change nothing patchgate writes: 39 rewrites the
// timeSeriesTable transformation, 40 makes refresh a string, 41 drops
// timepicker.time_options, 42 adds tooltip to hideFrom overrides with viz;
// patchgate uses none of these, and a test holds it to that.
type Grafana struct {
	// Version is the release as the user named it ("10", "11.6", "latest").
	Version string
	// Schema is the schemaVersion written.
	Schema int
	// minor is the release as major*100+minor, to compare with features.
	minor int
}

// LatestSchema is the schemaVersion the foundation SDK writes, that of
// Grafana 12.2 and later.
const LatestSchema = 42

// Latest targets Grafana 12.2 and later: the SDK's model as it is.
var Latest = Grafana{Version: "latest", Schema: LatestSchema, minor: 1202}

// schemaOf is the schemaVersion written for a release: the highest its
// own migrator knows, or lower where nothing patchgate writes differs.
// Grafana 10.0–10.2 know 38, 10.3 learned 39, 11.3 40, 11.6 41, 12.2 42.
func schemaOf(minor int) int {
	switch {
	case minor < 1100:
		return 38 // every 10.x reads 38
	case minor < 1200:
		return 39 // every 11.x reads 39
	case minor < 1202:
		return 41 // 12.0 and 12.1
	}
	return LatestSchema
}

// ParseGrafana reads a Grafana release: "10", "11", "12", a minor or patch
// release such as "11.6" or "10.4.3" (a leading "v" is allowed), or
// "latest". Releases before 10 are refused.
func ParseGrafana(s string) (Grafana, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if v == "" || v == "latest" {
		return Latest, nil
	}
	parts := strings.SplitN(v, ".", 3)
	major, err := strconv.Atoi(parts[0])
	minor := 0
	if err == nil && len(parts) > 1 {
		// "11.6.0-84846" and "12.1.0+security-01": the patch may carry a build.
		minor, err = strconv.Atoi(parts[1])
	}
	if err != nil || major < 0 || minor < 0 {
		return Grafana{}, fmt.Errorf("grafana version %q: want a release such as 10, 11.6 or 12.2.1, or latest", s)
	}
	if major < 10 {
		return Grafana{}, fmt.Errorf("grafana version %q: Grafana 10 or later is needed (the dashboards use table cell options, schemaVersion 38)", s)
	}
	m := major*100 + minor
	return Grafana{Version: s, Schema: schemaOf(m), minor: m}, nil
}

// String is the release and the schemaVersion written for it.
func (g Grafana) String() string {
	return fmt.Sprintf("Grafana %s (schemaVersion %d)", g.Version, g.Schema)
}

// newer are the options the SDK writes that older releases lack, with the
// release that brought each. An older release ignores them; patchgate
// leaves them out so the file says only what the release shows.
var newer = []struct {
	since int    // major*100+minor
	where string // "panel options" or "variable"
	key   string
}{
	{1003, "panel options", "showPercentChange"},      // stat percent change, grafana#78250
	{1101, "panel options", "percentChangeColorMode"}, // grafana#88205, Grafana 11.1
	{1104, "variable", "allowCustomValue"},            // grafana#95949; before it custom values were always allowed
}

// adapt rewrites a dashboard's JSON for g: its schemaVersion and the
// options g lacks. Latest leaves it as it is.
func (g Grafana) adapt(b []byte) ([]byte, error) {
	if g.Schema == 0 || g.Schema == LatestSchema {
		return b, nil
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	m["schemaVersion"] = g.Schema
	for _, f := range newer {
		if g.minor >= f.since {
			continue
		}
		switch f.where {
		case "panel options":
			eachPanel(m, func(p map[string]any) {
				if o, ok := p["options"].(map[string]any); ok {
					delete(o, f.key)
				}
			})
		case "variable":
			if t, ok := m["templating"].(map[string]any); ok {
				list, _ := t["list"].([]any)
				for _, v := range list {
					if v, ok := v.(map[string]any); ok {
						delete(v, f.key)
					}
				}
			}
		}
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// eachPanel calls f for every panel, those inside collapsed rows too.
func eachPanel(m map[string]any, f func(map[string]any)) {
	panels, _ := m["panels"].([]any)
	for _, p := range panels {
		if p, ok := p.(map[string]any); ok {
			f(p)
			eachPanel(p, f)
		}
	}
}
