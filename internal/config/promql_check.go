package config

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// PromQLCheck is a user's own check: a PromQL query evaluated at every
// look of a stage (once per completed minute) and held against a
// threshold, in the manner of an Argo Rollouts analysis metric.
type PromQLCheck struct {
	// Name names the check in answers (promql:NAME); unique per list.
	Name string `yaml:"name" json:"name"`
	// Query must return one series (or a scalar). It may use {{.window}}
	// where a range goes and, inside label values only, the templates of
	// the canary selector ({{.patch_id}}, {{.params.NAME}} ...), which are
	// inserted as escaped label values. The canary selector is added to
	// every series it reads (and, with compare: baseline, the baseline
	// selector to a second copy).
	Query string `yaml:"query" json:"query"`
	// Below and Above are the thresholds: a look passes when the value is
	// below Below and above Above (each optional, at least one required).
	Below *float64 `yaml:"below" json:"below,omitempty"`
	Above *float64 `yaml:"above" json:"above,omitempty"`
	// Compare: baseline holds canary against baseline instead of the
	// canary's value alone: By ratio (canary / baseline, default) or
	// difference (canary − baseline) is what the thresholds apply to, so
	// the threshold is the margin (below: 1.2 = at most 20% above baseline).
	Compare string `yaml:"compare" json:"compare,omitempty"`
	By      string `yaml:"by" json:"by,omitempty"`
	// Window is what {{.window}} becomes (default 1m, one look).
	Window Duration `yaml:"window" json:"window"`
	// FailureLimit is how many looks of the stage attempt may breach the
	// thresholds before the check fails (default 0: the first breach
	// fails), as Argo's failureLimit.
	FailureLimit int `yaml:"failure_limit" json:"failure_limit"`
	// ConsecutiveSuccesses is how many of the latest looks must all pass
	// before the check passes (default 1), as Argo's consecutiveSuccessLimit.
	ConsecutiveSuccesses int `yaml:"consecutive_successes" json:"consecutive_successes"`
}

// Values of PromQLCheck.Compare and By.
const (
	CompareBaseline                   = "baseline"
	ByRatio                           = "ratio"
	ByDifference                      = "difference"
	DefaultPromQLWindow               = Duration(time.Minute)
	DefaultPromQLConsecutiveSuccesses = 1
)

func (c *PromQLCheck) applyDefaults(path string, set func(path string) bool) {
	if !set(path + ".window") {
		c.Window = DefaultPromQLWindow
	}
	if !set(path + ".consecutive_successes") {
		c.ConsecutiveSuccesses = DefaultPromQLConsecutiveSuccesses
	}
	if c.Compare != "" && !set(path+".by") {
		c.By = ByRatio
	}
}

var promqlCheckNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

func validatePromQLChecks(cs []PromQLCheck, path string, p *collector) {
	names := map[string]int{}
	for i := range cs {
		c := &cs[i]
		cp := fmt.Sprintf("%s[%d]", path, i)
		switch first, dup := names[c.Name]; {
		case c.Name == "":
			p.addf(cp+".name", "required: the check's name in answers, e.g. memory")
		case !promqlCheckNameRE.MatchString(c.Name):
			p.addf(cp+".name", "must match [a-zA-Z0-9_.-]+, got %q", c.Name)
		case dup:
			p.addf(cp+".name", "%q is already the name of %s[%d]", c.Name, path, first)
		default:
			names[c.Name] = i
		}
		if c.Query == "" {
			p.addf(cp+".query", "required: a PromQL query that returns one series")
		} else if err := checkCheckQuery(c.Query); err != nil {
			p.addf(cp+".query", "%v", err)
		}
		switch {
		case c.Below == nil && c.Above == nil:
			p.addf(cp, "needs a threshold: below, above or both")
		case c.Below != nil && c.Above != nil && !(*c.Above < *c.Below):
			p.addf(cp+".above", "must be less than below (%v), got %v: no value could pass", *c.Below, *c.Above)
		}
		for _, t := range []struct {
			field string
			v     *float64
		}{{"below", c.Below}, {"above", c.Above}} {
			if t.v != nil && (math.IsNaN(*t.v) || math.IsInf(*t.v, 0)) {
				p.addf(cp+"."+t.field, "must be a finite number, got %v", *t.v)
			}
		}
		switch c.Compare {
		case "":
			if c.By != "" {
				p.addf(cp+".by", "only applies with compare: baseline")
			}
		case CompareBaseline:
			if c.By != ByRatio && c.By != ByDifference {
				p.addf(cp+".by", "must be one of %s, %s, got %q", ByRatio, ByDifference, c.By)
			}
		default:
			p.addf(cp+".compare", "must be baseline (or left out to judge the canary alone), got %q", c.Compare)
		}
		if c.Window <= 0 {
			p.addf(cp+".window", "must be greater than 0")
		}
		if c.FailureLimit < 0 {
			p.addf(cp+".failure_limit", "must be 0 or more, got %d", c.FailureLimit)
		}
		if c.ConsecutiveSuccesses < 1 {
			p.addf(cp+".consecutive_successes", "must be 1 or more, got %d", c.ConsecutiveSuccesses)
		}
	}
}

// checkCheckQuery checks a promql check's query: with {{.window}} set to
// 5m it must parse and return an instant vector or a scalar, and templates
// may stand only in label matcher values, where the gate fills them as
// escaped values.
func checkCheckQuery(q string) error {
	expr, err := parser.ParseExpr(ExpandWindow(q, 5*time.Minute))
	if err != nil {
		return fmt.Errorf("invalid PromQL with {{.window}} set to 5m: %w", err)
	}
	switch expr.Type() {
	case parser.ValueTypeVector, parser.ValueTypeScalar:
	default:
		return fmt.Errorf("must return an instant vector or a scalar, got a %s", expr.Type())
	}
	var errs []error
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			for _, m := range n.LabelMatchers {
				if err := checkTrackTemplate(m.Name, m.Value); err != nil {
					errs = append(errs, err)
				}
			}
		case *parser.StringLiteral:
			if strings.Contains(n.Val, "{{") {
				errs = append(errs, fmt.Errorf("template in %q: templates are filled only in label matcher values", n.Val))
			}
		}
		return nil
	})
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
