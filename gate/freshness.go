package gate

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/patchgate/patchgate/internal/config"
)

// freshnessCheck refuses stale or absent series: the request series of
// each arm must have samples inside max_age before the look.
type freshnessCheck struct{ cfg config.Freshness }

func (freshnessCheck) name() string { return "freshness" }

func (c freshnessCheck) run(ctx context.Context, l *look) CheckResult {
	maxAge := time.Duration(c.cfg.MaxAge)
	type arm struct {
		name   string
		ms     []*labels.Matcher
		msText string
	}
	arms := []arm{{"canary", l.canary, l.canaryText}, {"baseline", l.baseline, l.baselineText}}
	if l.canary == nil && l.baseline == nil {
		arms = []arm{{"service", nil, ""}}
	}
	var queries, stale []string
	for _, a := range arms {
		q, err := renderSLI(l.render, l.service.SLI.Total, maxAge, a.ms, a.msText, 0)
		if err != nil {
			return sourceError(c.name(), err)
		}
		queries = append(queries, q)
		v, ok, err := l.src.instantOne(ctx, q, l.at)
		if err != nil {
			return sourceError(c.name(), err, queries...)
		}
		if !ok || math.IsNaN(v) {
			stale = append(stale, a.name)
		}
	}
	th := maxAge.Seconds()
	r := result(c.name(), Pass, "", queries...)
	r.Threshold, r.Unit = &th, "seconds"
	if len(stale) > 0 {
		r = noData(c.name(), fmt.Sprintf("no %s request samples in the %s before %s (stale or absent series are never a go)",
			strings.Join(stale, " or "), model.Duration(maxAge), l.at.UTC().Format(time.RFC3339)), queries...)
		r.Threshold, r.Unit = &th, "seconds"
		return r
	}
	r.Sentence = fmt.Sprintf("request series of %s have samples within the last %s", joinArms(len(arms)), model.Duration(maxAge))
	return r
}

func joinArms(n int) string {
	if n == 1 {
		return "the service"
	}
	return "canary and baseline"
}
