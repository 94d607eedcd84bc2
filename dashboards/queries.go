package dashboards

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Query is one PromQL query of a dashboard as Grafana gets it, with
// Grafana's variables in it.
type Query struct {
	// Where names the query's place, e.g. `panel 2 "Canary error delta
	// per rollout" target B` or `variable cluster`.
	Where string
	// PanelID is the panel's id; 0 for a variable.
	PanelID int
	Expr    string
}

// Queries returns every PromQL query of the dashboard: panel targets and
// the series selectors of label_values() variables. It reads the JSON
// that Grafana gets.
func (d Dashboard) Queries() ([]Query, error) {
	b, err := d.JSON()
	if err != nil {
		return nil, err
	}
	var m struct {
		Panels     []jsonPanel `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	var out []Query
	var walk func(ps []jsonPanel)
	walk = func(ps []jsonPanel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if t.Expr != "" {
					out = append(out, Query{Where: fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, t.RefID), PanelID: p.ID, Expr: t.Expr})
				}
			}
			walk(p.Panels)
		}
	}
	walk(m.Panels)
	for _, v := range m.Templating.List {
		s, ok := v.Query.(string)
		if v.Type != "query" || !ok {
			continue
		}
		if sm := labelValuesRE.FindStringSubmatch(s); sm != nil {
			out = append(out, Query{Where: "variable " + v.Name, Expr: sm[1]})
		}
	}
	return out, nil
}

type jsonPanel struct {
	ID      int    `json:"id"`
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []jsonPanel `json:"panels"`
}

// labelValuesRE is a label_values(selector, label) variable query.
var labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$`)

// grafanaVariableRE is a Grafana variable: $name, ${name} or ${name:format}.
var grafanaVariableRE = regexp.MustCompile(`\$(?:\{([a-zA-Z0-9_]+)(?::[a-zA-Z0-9_]+)?\}|([a-zA-Z0-9_]+))`)

// Sample replaces Grafana's variables in a query with sample values, so
// that it parses as PromQL: durations for $__rate_interval, $__interval and
// $__range, a number of seconds or milliseconds for $__range_s and the
// like, and a plain word for any other variable.
func Sample(expr string) string {
	return grafanaVariableRE.ReplaceAllStringFunc(expr, func(v string) string {
		sm := grafanaVariableRE.FindStringSubmatch(v)
		name := sm[1] + sm[2]
		switch name {
		case "__rate_interval", "__interval", "__range", "__auto":
			return "5m"
		case "__range_s", "__interval_s":
			return "300"
		case "__range_ms", "__interval_ms":
			return "300000"
		default:
			return "sample"
		}
	})
}
