package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// windowRE is the place of the range in an SLI query, as Sloth writes it:
// {{.window}}, with or without spaces inside the braces.
var windowRE = regexp.MustCompile(`{{\s*\.window\s*}}`)

// ExpandWindow returns an SLI query with its {{.window}} placeholders set
// to window, written as a Prometheus duration. It is the one place the
// placeholder is read; Sloth reads the same forms.
func ExpandWindow(query string, window time.Duration) string {
	return windowRE.ReplaceAllLiteralString(query, model.Duration(window).String())
}

var templateErrPrefixRE = regexp.MustCompile(`^template: [^:]*:\d+: `)

// trackFields are the request fields a canary or baseline label value may use.
var trackFields = []string{"service", "patch_id", "stage", "attempt"}

const trackTemplates = "{{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}} or {{.params.NAME}}"

// checkSLIQuery checks an SLI query the way Sloth does: with {{.window}}
// replaced by a real range it must parse as PromQL returning a vector.
func checkSLIQuery(q string) error {
	if !windowRE.MatchString(q) {
		return errors.New("must contain {{.window}} where the range goes, e.g. rate(http_requests_total[{{.window}}])")
	}
	expr, err := parser.ParseExpr(ExpandWindow(q, 5*time.Minute))
	if err != nil {
		return fmt.Errorf("invalid PromQL with {{.window}} set to 5m: %w", err)
	}
	switch expr.Type() {
	case parser.ValueTypeVector:
	case parser.ValueTypeMatrix:
		return errors.New("must return an instant vector, got a range vector")
	default:
		return fmt.Errorf("must return an instant vector, got a %s", expr.Type())
	}
	return nil
}

// checkTrackSelector checks a canary or baseline selector such as
// {track="canary", version="{{.patch_id}}"} and returns its matchers in a
// canonical form, so that two selectors can be compared.
func checkTrackSelector(s string) (string, error) {
	ms, err := parser.ParseMetricSelector(s)
	if err != nil {
		return "", fmt.Errorf("invalid label selector: %w", err)
	}
	if len(ms) == 0 {
		return "", errors.New("must hold at least one label matcher, such as {track=\"canary\"}")
	}
	norm := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.Name == model.MetricNameLabel {
			return "", errors.New("must hold label matchers only, not a metric name: it is added to every series the SLI queries read")
		}
		if err := checkTrackTemplate(m.Name, m.Value); err != nil {
			return "", err
		}
		norm = append(norm, m.String())
	}
	slices.Sort(norm)
	return strings.Join(norm, ","), nil
}

// checkTrackTemplate allows in a label value only the request fields the
// gate fills in: {{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}} and
// {{.params.NAME}}.
func checkTrackTemplate(label, value string) error {
	if !strings.Contains(value, "{{") {
		return nil
	}
	t, err := template.New(label).Option("missingkey=error").Parse(value)
	if err != nil {
		// text/template prefixes "template: NAME:LINE: ", which says nothing here.
		msg := templateErrPrefixRE.ReplaceAllLiteralString(err.Error(), "")
		return fmt.Errorf("label %s: invalid template: %s", label, msg)
	}
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			continue
		case *parse.ActionNode:
			if allowedAction(n) {
				continue
			}
		}
		return fmt.Errorf("label %s: unknown template %s: use %s", label, n, trackTemplates)
	}
	return nil
}

func allowedAction(a *parse.ActionNode) bool {
	if len(a.Pipe.Decl) > 0 || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	f, ok := a.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok {
		return false
	}
	switch len(f.Ident) {
	case 1:
		return slices.Contains(trackFields, f.Ident[0])
	case 2:
		return f.Ident[0] == "params"
	}
	return false
}

// checkAlertSelector checks the selector of the alerts check.
func checkAlertSelector(s string) error {
	if _, err := parser.ParseMetricSelector(s); err != nil {
		return fmt.Errorf("invalid label selector: %w", err)
	}
	return nil
}
