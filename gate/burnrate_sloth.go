package gate

import (
	"context"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/patchgate/patchgate/slo"
)

// slothRatio reads the service's error ratio over w from the series Sloth's
// rules record (`patchgate generate rules`, loaded in Prometheus when the
// config says sloth_rules_deployed), e.g.
// slo:sli_error:ratio_rate1h{sloth_service="checkout",sloth_slo="requests"}.
// It costs one cheap query per window instead of two over raw series.
//
// The generated error query counts absent error series as zero errors, so a
// recorded ratio is absent or NaN only without requests (or without the
// rules): both are no traffic, as in the raw path. The period's ratio is
// Sloth's: the average of the recorded 5m ratios over the period, which
// weighs quiet hours as much as busy ones (docs/slo.md).
func (l *look) slothRatio(ctx context.Context, w time.Duration) windowRatio {
	r := windowRatio{window: w}
	q, err := slo.Selector(slo.SLIErrorRecord(w), []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, slo.LabelSlothService, l.service.Name),
		labels.MustNewMatcher(labels.MatchEqual, slo.LabelSlothSLO, l.service.SLO.Name),
	})
	if err != nil {
		r.err = err
		return r
	}
	r.errQ = q
	v, ok, err := l.src.instantOne(ctx, q, l.at)
	if err != nil {
		r.err = err
		return r
	}
	if !ok || !finite(v) || v < 0 {
		return r
	}
	r.ratio, r.traffic = math.Min(v, 1), true
	return r
}

// slothMissingHint says where a missing ratio was looked for.
func slothMissingHint(l *look) string {
	if !l.service.SLO.SlothRulesDeployed {
		return ""
	}
	return " (Sloth's recorded slo:sli_error:ratio_rate* series are absent or NaN: no requests, or the rules from `patchgate generate rules` are not loaded)"
}
