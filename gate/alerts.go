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

// alertsCheck fails while page alerts fire for the service, read from the
// ALERTS series that Prometheus writes for every pending or firing alert.
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
	for _, s := range vec {
		names[string(s.Metric["alertname"])] = true
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	zero := 0.0
	r := result(c.name(), Pass, "", q)
	r.Observed, r.Threshold, r.Unit = ptr(float64(len(vec))), &zero, "firing alerts"
	if len(vec) > 0 {
		r.Verdict = Fail
		r.Sentence = fmt.Sprintf("%d page alert(s) firing for %s: %s", len(vec), l.service.Name, strings.Join(list, ", "))
		return r
	}
	r.Sentence = fmt.Sprintf("no page alerts firing for %s", l.service.Name)
	return r
}
