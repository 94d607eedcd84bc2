package slo

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Vars are the values a selector's label values may refer to:
// {{.service}}, {{.patch_id}}, {{.stage}}, {{.attempt}}, {{.params.NAME}}.
type Vars struct {
	Service string
	PatchID string
	Stage   string
	Attempt string
	Params  map[string]string
}

// MissingParamError says a selector refers to a request parameter that the
// request did not send.
type MissingParamError struct{ Param string }

func (e *MissingParamError) Error() string {
	return fmt.Sprintf("the selector needs params.%s, which the request did not send", e.Param)
}

var paramRef = regexp.MustCompile(`\.params\.([A-Za-z_][A-Za-z0-9_]*)`)

// Matchers parses a label selector such as {track="canary",version="{{.patch_id}}"}
// and fills its templated label values from vars. Values filled into
// regular-expression matchers are quoted with regexp.QuoteMeta, so they match
// literally.
func Matchers(selector string, vars Vars) ([]*labels.Matcher, error) {
	if strings.TrimSpace(selector) == "" {
		return nil, nil
	}
	ms, err := parser.ParseMetricSelector(selector)
	if err != nil {
		return nil, fmt.Errorf("parse selector %q: %w", selector, err)
	}
	out := make([]*labels.Matcher, 0, len(ms))
	for _, m := range ms {
		v := m.Value
		if strings.Contains(v, "{{") {
			quote := m.Type == labels.MatchRegexp || m.Type == labels.MatchNotRegexp
			v, err = fill(v, vars, quote)
			if err != nil {
				return nil, fmt.Errorf("selector %q, label %s: %w", selector, m.Name, err)
			}
		}
		nm, err := labels.NewMatcher(m.Type, m.Name, v)
		if err != nil {
			return nil, fmt.Errorf("selector %q, label %s: %w", selector, m.Name, err)
		}
		out = append(out, nm)
	}
	return out, nil
}

func fill(text string, vars Vars, quote bool) (string, error) {
	q := func(s string) string {
		if quote {
			return regexp.QuoteMeta(s)
		}
		return s
	}
	params := make(map[string]string, len(vars.Params))
	for k, v := range vars.Params {
		params[k] = q(v)
	}
	for _, m := range paramRef.FindAllStringSubmatch(text, -1) {
		if _, ok := params[m[1]]; !ok {
			return "", &MissingParamError{Param: m[1]}
		}
	}
	t, err := template.New("value").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	data := map[string]any{
		"service":  q(vars.Service),
		"patch_id": q(vars.PatchID),
		"stage":    q(vars.Stage),
		"attempt":  q(vars.Attempt),
		"params":   params,
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Render returns the SLI expression with {{.window}} set to window and the
// extra matchers added to every series selector in it.
func Render(expr string, window time.Duration, extra []*labels.Matcher) (string, error) {
	e, err := Parse(expr, window)
	if err != nil {
		return "", err
	}
	AddMatchers(e, extra)
	return e.String(), nil
}

// Parse renders {{.window}} and parses the result.
func Parse(expr string, window time.Duration) (parser.Expr, error) {
	text := strings.ReplaceAll(expr, "{{.window}}", model.Duration(window).String())
	e, err := parser.ParseExpr(text)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", text, err)
	}
	return e, nil
}

// AddMatchers adds ms to every vector selector of e.
func AddMatchers(e parser.Expr, ms []*labels.Matcher) {
	if len(ms) == 0 {
		return
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, ms...)
		}
		return nil
	})
}

// Scale returns (e) * factor, e.g. a per-second rate times the window's
// seconds to count events.
func Scale(e parser.Expr, factor float64) parser.Expr {
	return &parser.BinaryExpr{
		Op:  parser.MUL,
		LHS: &parser.ParenExpr{Expr: e},
		RHS: &parser.NumberLiteral{Val: factor},
	}
}

// Ratio returns (num) / (den).
func Ratio(num, den parser.Expr) parser.Expr {
	return &parser.BinaryExpr{
		Op:  parser.DIV,
		LHS: &parser.ParenExpr{Expr: num},
		RHS: &parser.ParenExpr{Expr: den},
	}
}

// Selector returns a series selector for metric with the given matchers,
// e.g. ALERTS{alertstate="firing",service="checkout"}.
func Selector(metric string, ms []*labels.Matcher) (string, error) {
	name, err := labels.NewMatcher(labels.MatchEqual, model.MetricNameLabel, metric)
	if err != nil {
		return "", err
	}
	vs := &parser.VectorSelector{Name: metric, LabelMatchers: append([]*labels.Matcher{name}, ms...)}
	return vs.String(), nil
}
