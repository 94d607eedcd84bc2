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

	"github.com/patchgate/patchgate/internal/config"
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
	t, err := ParseSelector(selector)
	if err != nil {
		return nil, err
	}
	return t.Fill(vars)
}

// SelectorTemplate is a parsed label selector whose values may refer to
// request values. Parse once, fill on every request: it is safe for
// concurrent use.
type SelectorTemplate struct {
	text     string
	matchers []selectorPart
}

// selectorPart is one matcher: fixed, or a value to fill from its
// template, parsed once.
type selectorPart struct {
	fixed  *labels.Matcher
	typ    labels.MatchType
	name   string
	value  string
	tmpl   *template.Template
	params []string // the request parameters the value refers to
}

// ParseSelector parses a selector for Fill. An empty selector selects
// nothing more (Fill returns no matchers).
func ParseSelector(selector string) (*SelectorTemplate, error) {
	t := &SelectorTemplate{text: selector}
	if strings.TrimSpace(selector) == "" {
		return t, nil
	}
	ms, err := parser.ParseMetricSelector(selector)
	if err != nil {
		return nil, fmt.Errorf("parse selector %q: %w", selector, err)
	}
	for _, m := range ms {
		if strings.Contains(m.Value, "{{") {
			tmpl, err := template.New("value").Option("missingkey=error").Parse(m.Value)
			if err != nil {
				return nil, fmt.Errorf("selector %q, label %s: %w", selector, m.Name, err)
			}
			var params []string
			for _, ref := range paramRef.FindAllStringSubmatch(m.Value, -1) {
				params = append(params, ref[1])
			}
			t.matchers = append(t.matchers, selectorPart{typ: m.Type, name: m.Name, value: m.Value, tmpl: tmpl, params: params})
			continue
		}
		t.matchers = append(t.matchers, selectorPart{fixed: m})
	}
	return t, nil
}

// Fill returns the selector's matchers with their templated values filled
// from vars. Fixed matchers are shared between calls and must not be
// changed.
func (t *SelectorTemplate) Fill(vars Vars) ([]*labels.Matcher, error) {
	if len(t.matchers) == 0 {
		return nil, nil
	}
	out := make([]*labels.Matcher, 0, len(t.matchers))
	for _, p := range t.matchers {
		if p.fixed != nil {
			out = append(out, p.fixed)
			continue
		}
		quote := p.typ == labels.MatchRegexp || p.typ == labels.MatchNotRegexp
		v, err := p.fill(vars, quote)
		if err != nil {
			return nil, fmt.Errorf("selector %q, label %s: %w", t.text, p.name, err)
		}
		nm, err := labels.NewMatcher(p.typ, p.name, v)
		if err != nil {
			return nil, fmt.Errorf("selector %q, label %s: %w", t.text, p.name, err)
		}
		out = append(out, nm)
	}
	return out, nil
}

func (p selectorPart) fill(vars Vars, quote bool) (string, error) {
	q := func(s string) string {
		if quote {
			return regexp.QuoteMeta(s)
		}
		return s
	}
	for _, name := range p.params {
		if _, ok := vars.Params[name]; !ok {
			return "", &MissingParamError{Param: name}
		}
	}
	params := make(map[string]string, len(vars.Params))
	for k, v := range vars.Params {
		params[k] = q(v)
	}
	data := map[string]any{
		"service":  q(vars.Service),
		"patch_id": q(vars.PatchID),
		"stage":    q(vars.Stage),
		"attempt":  q(vars.Attempt),
		"params":   params,
	}
	var b bytes.Buffer
	if err := p.tmpl.Execute(&b, data); err != nil {
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
	text := config.ExpandWindow(expr, window)
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

// AnyOf matches a label whose value is any one of values, each matched
// literally: name=~"a|b\\.c" for a and b.c. The values are quoted with
// regexp.QuoteMeta, so a value never acts as a pattern.
func AnyOf(name string, values ...string) *labels.Matcher {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return labels.MustNewMatcher(labels.MatchRegexp, name, strings.Join(quoted, "|"))
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
