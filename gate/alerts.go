package gate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/slo"
)

// alertPatchLabel is the alert label naming the patch an alert is about
// (patchgate's own alerts carry it: docs/alerts.md).
const alertPatchLabel = "patch_id"

// alertsCheck fails while page alerts fire for the service, read from the
// ALERTS series that Prometheus writes for every pending or firing alert.
//
// Every firing alert the selector picks for the service blocks, whatever
// patch it names: a page about another patch of the service (a failed
// rollback, a reboot storm) says the service is not healthy enough to go
// on with this one either. The sentence and details tell the alerts about
// this patch (patch_id equal to the request's) from those about other
// patches and those about none. Ticket alerts never block: the default
// selector picks severity="page" only.
type alertsCheck struct{ cfg config.Alerts }

func (alertsCheck) name() string { return "alerts" }

func (c alertsCheck) run(ctx context.Context, l *look) CheckResult {
	ms, err := slo.Matchers(c.cfg.Selector, l.vars)
	if err != nil {
		return sourceError(c.name(), err)
	}
	ms = append(ms,
		labels.MustNewMatcher(labels.MatchEqual, "alertstate", "firing"),
		labels.MustNewMatcher(labels.MatchEqual, c.cfg.ServiceLabel, l.service.Name),
	)
	q, err := slo.Selector("ALERTS", ms)
	if err != nil {
		return sourceError(c.name(), err)
	}
	vec, err := l.src.instant(ctx, q, l.at)
	if err != nil {
		return sourceError(c.name(), err, q)
	}
	names := map[string]bool{}
	var this, other, none float64
	for _, s := range vec {
		name := string(s.Metric["alertname"])
		switch p := string(s.Metric[alertPatchLabel]); {
		case p == "":
			none++
		case p == l.vars.PatchID:
			this++
			name += " for this patch"
		default:
			other++
			name += " for patch " + p
		}
		names[name] = true
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	zero := 0.0
	r := result(c.name(), Pass, "", q)
	r.Observed, r.Threshold, r.Unit = ptr(float64(len(vec))), &zero, "firing alerts"
	if len(vec) == 0 && len(c.cfg.PauseNonCritical) > 0 && l.severity != "critical" {
		return c.pause(ctx, l, r)
	}
	if len(vec) > 0 {
		r.Verdict = Fail
		r.Details = map[string]float64{"this_patch": this, "other_patches": other, "no_patch": none}
		r.Sentence = fmt.Sprintf("%d page alert(s) firing for %s: %s", len(vec), l.service.Name, strings.Join(list, ", "))
		if this == 0 {
			r.Sentence += " (a page alert of the service blocks every patch of it)"
		}
		return r
	}
	r.Sentence = fmt.Sprintf("no page alerts firing for %s", l.service.Name)
	return r
}

// pause fails a patch that is not critical while one of the configured
// alerts (such as PatchgateErrorBudgetUsedByPatching) fires for the
// service: patching has cost the service too much already, and only
// critical patches may go on.
func (c alertsCheck) pause(ctx context.Context, l *look, r CheckResult) CheckResult {
	q, err := slo.Selector("ALERTS", []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, "alertstate", "firing"),
		labels.MustNewMatcher(labels.MatchEqual, c.cfg.ServiceLabel, l.service.Name),
		slo.AnyOf("alertname", c.cfg.PauseNonCritical...),
	})
	if err != nil {
		return sourceError(c.name(), err, r.Queries...)
	}
	r.Queries = append(r.Queries, q)
	vec, err := l.src.instant(ctx, q, l.at)
	if err != nil {
		return sourceError(c.name(), err, r.Queries...)
	}
	severity := l.severity
	if severity == "" {
		severity = "of unknown severity"
	}
	if len(vec) == 0 {
		r.Sentence = fmt.Sprintf("no page alerts firing for %s, and none of %s pausing patches that are not critical",
			l.service.Name, strings.Join(c.cfg.PauseNonCritical, ", "))
		return r
	}
	names := map[string]bool{}
	for _, s := range vec {
		names[string(s.Metric["alertname"])] = true
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	r.Verdict, r.Observed = Fail, ptr(float64(len(vec)))
	r.Sentence = fmt.Sprintf("%s firing for %s pauses patches that are not critical, and this patch is %s (critical patches still pass)",
		strings.Join(list, ", "), l.service.Name, severity)
	return r
}
