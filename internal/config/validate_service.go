package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// serviceNamePattern is what a service name may hold: it goes into label
// values, URLs and file names.
const serviceNamePattern = `[a-zA-Z0-9_.-]+`

var (
	serviceNameRE     = regexp.MustCompile(`^` + serviceNamePattern + `$`)
	onTimeouts        = []Verdict{VerdictNoGo, VerdictGo}
	onFutilities      = []OnFutility{FutilityAnswer, FutilityWait}
	errorDeltaMethods = []Method{MethodPocock, MethodConfidenceSequence}
	modes             = []Mode{ModeEnforce, ModeShadow}
	checkNames        = []string{"error_delta", "min_traffic", "burn_rate", "alerts", "freshness", "latency_delta", "promql"}
)

// Bounds of a stage's max_wait: the sequential test looks once a minute and
// needs a few looks; a day is longer than any stage should hang.
const (
	minMaxWait = Duration(3 * time.Minute)
	maxMaxWait = Duration(24 * time.Hour)
)

func validateServices(services []Service, p *collector) {
	if len(services) == 0 {
		p.addf("services", "at least one service is required")
		return
	}
	names := map[string]int{}
	for i := range services {
		s := &services[i]
		path := fmt.Sprintf("services[%d]", i)
		switch first, dup := names[s.Name]; {
		case s.Name == "":
			p.addf(path+".name", "required")
		case !serviceNameRE.MatchString(s.Name):
			p.addf(path+".name", "must match %s, got %q", serviceNamePattern, s.Name)
		case dup:
			p.addf(path+".name", "%q is already the name of services[%d]", s.Name, first)
		default:
			names[s.Name] = i
		}
		validateSLI(s, path+".sli", p)
		validateSLO(&s.SLO, path+".slo", p)
		validateChecks(&s.Checks, path+".checks", p)
		validateStages(s.Stages, path+".stages", p)
		validateMode(s.Mode, path+".mode", p)
	}
}

func validateMode(m Mode, path string, p *collector) {
	if m != "" && !slices.Contains(modes, m) {
		p.addf(path, "must be one of %s, got %q", joinNames(modes), m)
	}
}

func validateSLI(s *Service, path string, p *collector) {
	for _, q := range []struct{ field, query string }{
		{"errors", s.SLI.Errors}, {"total", s.SLI.Total},
	} {
		if q.query == "" {
			p.addf(path+"."+q.field, "required")
			continue
		}
		if err := checkSLIQuery(q.query); err != nil {
			p.addf(path+"."+q.field, "%v", err)
		}
	}

	var tracks [2]string // the canary's and the baseline's matchers, normalised
	for i, t := range []struct{ field, selector string }{
		{"canary", s.SLI.Canary}, {"baseline", s.SLI.Baseline},
	} {
		if t.selector == "" {
			if s.comparesTracks() {
				p.addf(path+"."+t.field, "required when a check compares canary with baseline (error_delta, min_traffic, latency_delta, promql with compare: baseline)")
			}
			continue
		}
		norm, err := checkTrackSelector(t.selector)
		if err != nil {
			p.addf(path+"."+t.field, "%v", err)
			continue
		}
		tracks[i] = norm
	}
	if tracks[0] != "" && tracks[0] == tracks[1] {
		p.addf(path+".baseline", "must select other series than canary, got the same matchers")
	}
}

// comparesTracks reports whether a check of s, at service level or in any
// stage, compares the canary with the baseline.
func (s *Service) comparesTracks() bool {
	uses := func(c Checks) bool {
		return c.ErrorDelta != nil || c.MinTraffic != nil || c.LatencyDelta != nil ||
			slices.ContainsFunc(c.PromQL, func(q PromQLCheck) bool { return q.Compare != "" })
	}
	if uses(s.Checks) {
		return true
	}
	return slices.ContainsFunc(s.Stages, func(st Stage) bool { return uses(st.Checks) })
}

func validateSLO(s *SLO, path string, p *collector) {
	switch {
	case !p.doc.set(path + ".objective"):
		p.addf(path+".objective", "required: the objective in percent, e.g. 99.9")
	case !(s.Objective > 0 && s.Objective < 100):
		p.addf(path+".objective", "must be between 0 and 100 (exclusive), got %v", s.Objective)
	}
	if s.Period <= 0 {
		p.addf(path+".period", "must be greater than 0")
	}
}

func validateStages(stages []Stage, path string, p *collector) {
	if len(stages) == 0 {
		p.addf(path, "at least one stage is required")
		return
	}
	names := map[string]int{}
	for i := range stages {
		st := &stages[i]
		sp := fmt.Sprintf("%s[%d]", path, i)
		switch first, dup := names[st.Name]; {
		case st.Name == "":
			p.addf(sp+".name", "required")
		case dup:
			p.addf(sp+".name", "%q is already the name of stages[%d]", st.Name, first)
		default:
			names[st.Name] = i
		}
		switch {
		case st.MaxWait < minMaxWait || st.MaxWait > maxMaxWait:
			p.addf(sp+".max_wait", "must be between 3m and 24h, got %s", st.MaxWait)
		case time.Duration(st.MaxWait)%time.Minute != 0:
			p.addf(sp+".max_wait", "must be a whole number of minutes (one look per minute), got %s", st.MaxWait)
		}
		validateMode(st.Mode, sp+".mode", p)
		if !slices.Contains(onTimeouts, st.OnTimeout) {
			p.addf(sp+".on_timeout", "must be one of %s, got %q", joinNames(onTimeouts), st.OnTimeout)
		}
		if !slices.Contains(onFutilities, st.OnFutility) {
			p.addf(sp+".on_futility", "must be one of %s, got %q", joinNames(onFutilities), st.OnFutility)
		}
		validateChecks(&st.Checks, sp+".checks", p)
		for j, name := range st.Disable {
			if !slices.Contains(checkNames, name) {
				p.addf(fmt.Sprintf("%s.disable[%d]", sp, j), "unknown check %q; checks are %s", name, strings.Join(checkNames, ", "))
			}
		}
	}
}

func validateChecks(c *Checks, path string, p *collector) {
	for _, name := range checkNames {
		if name == "promql" {
			continue
		}
		if p.doc.null(path + "." + name) {
			p.addf(path+"."+name, "is empty, which leaves the check off: write `%s: {}` to turn it on with its defaults, or remove the line", name)
		}
	}
	if e := c.ErrorDelta; e != nil {
		ep := path + ".error_delta"
		if !(e.MarginPP > 0 && e.MarginPP < 100) {
			p.addf(ep+".margin_pp", "must be between 0 and 100 (exclusive), got %v", e.MarginPP)
		}
		if !(e.Alpha > 0 && e.Alpha < 0.5) {
			p.addf(ep+".alpha", "must be between 0 and 0.5 (exclusive), got %v", e.Alpha)
		}
		if !slices.Contains(errorDeltaMethods, e.Method) {
			p.addf(ep+".method", "must be one of %s, got %q", joinNames(errorDeltaMethods), e.Method)
		}
	}
	if m := c.MinTraffic; m != nil && !(m.Requests > 0) {
		p.addf(path+".min_traffic.requests", "must be greater than 0, got %v", m.Requests)
	}
	if b := c.BurnRate; b != nil {
		validateBurnRate(b, path+".burn_rate", p)
	}
	if a := c.Alerts; a != nil {
		if err := checkAlertSelector(a.Selector); err != nil {
			p.addf(path+".alerts.selector", "%v", err)
		}
		if !model.LegacyValidation.IsValidLabelName(a.ServiceLabel) {
			p.addf(path+".alerts.service_label", "must be a label name such as service, got %q", a.ServiceLabel)
		}
		for i, name := range a.PauseNonCritical {
			if strings.TrimSpace(name) == "" {
				p.addf(fmt.Sprintf("%s.alerts.pause_non_critical_on[%d]", path, i), "must name an alert, e.g. PatchgateErrorBudgetUsedByPatching")
			}
		}
	}
	if f := c.Freshness; f != nil && f.MaxAge <= 0 {
		p.addf(path+".freshness.max_age", "must be greater than 0")
	}
	if l := c.LatencyDelta; l != nil {
		validateLatencyDelta(l, path+".latency_delta", p)
	}
	validatePromQLChecks(c.PromQL, path+".promql", p)
}

func validateBurnRate(b *BurnRate, path string, p *collector) {
	if len(b.Windows) == 0 {
		p.addf(path+".windows", "at least one window is required")
	}
	for i, w := range b.Windows {
		wp := fmt.Sprintf("%s.windows[%d]", path, i)
		switch {
		case w.Short <= 0:
			p.addf(wp+".short", "must be greater than 0")
		case w.Long <= w.Short:
			p.addf(wp+".long", "must be longer than short (%s), got %s", w.Short, w.Long)
		}
		if !(w.Factor > 0) {
			p.addf(wp+".factor", "must be greater than 0, got %v", w.Factor)
		}
	}
	if !(b.MinBudgetRemaining >= 0 && b.MinBudgetRemaining < 1) {
		p.addf(path+".min_budget_remaining", "must be a fraction from 0 to below 1, got %v", b.MinBudgetRemaining)
	}
}

// joinNames lists the values of an enum, comma-separated.
func joinNames[T ~string](vs []T) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = string(v)
	}
	return strings.Join(names, ", ")
}
