package gate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/gate/stats"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/slo"
)

// latencyDeltaCheck compares the canary's share of slow requests with the
// baseline's, minute by minute, from a classic histogram: a request is
// slow when it is above the threshold bucket, so per minute
// slow = increase(_bucket{le="+Inf"}) − increase(_bucket{le=threshold}).
// The share is a proportion, so the test is error_delta's, with slow
// requests in the place of errors.
//
// Its verdict keeps no state: every look recomputes every earlier look
// from the same range queries, and the first look that reached a
// decision decides (later looks show the numbers it was reached on).
type latencyDeltaCheck struct {
	cfg config.LatencyDelta
	// sequential is the number of sequential checks on the stage that
	// split the configured α (cfg.Alpha is already split).
	sequential int
	// sel is cfg.Selector, parsed once (selErr when it does not parse,
	// which a validated configuration rules out).
	sel    *slo.SelectorTemplate
	selErr error
}

func newLatencyDeltaCheck(cfg config.LatencyDelta, sequential int) latencyDeltaCheck {
	c := latencyDeltaCheck{cfg: cfg, sequential: sequential}
	c.sel, c.selErr = slo.ParseSelector(cfg.Selector)
	return c
}

func (latencyDeltaCheck) name() string { return "latency_delta" }

func (c latencyDeltaCheck) test(looks int) stats.Test {
	t := stats.Test{Margin: c.cfg.MarginPP / 100, Alpha: c.cfg.Alpha}
	if c.cfg.Method != config.MethodConfidenceSequence {
		t.Looks = looks
	}
	return t
}

// bucketQueries returns the per-minute bucket queries of the canary and the
// baseline: sum by (le) (increase(H_bucket{selector, track}[1m])).
func (c latencyDeltaCheck) bucketQueries(l *look) ([]string, error) {
	if c.selErr != nil {
		return nil, c.selErr
	}
	ms, err := selector(c.sel, "latency_delta", l.vars)
	if err != nil {
		return nil, err
	}
	name := c.cfg.Histogram + "_bucket"
	nameMatcher, err := labels.NewMatcher(labels.MatchEqual, model.MetricNameLabel, name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, track := range [][]*labels.Matcher{l.canary, l.baseline} {
		all := append([]*labels.Matcher{nameMatcher}, ms...)
		all = append(all, track...)
		e := &parser.AggregateExpr{
			Op:       parser.SUM,
			Grouping: []string{model.BucketLabel},
			Expr: &parser.Call{
				Func: parser.Functions["increase"],
				Args: parser.Expressions{&parser.MatrixSelector{
					VectorSelector: &parser.VectorSelector{Name: name, LabelMatchers: all},
					Range:          time.Minute,
				}},
			},
		}
		out = append(out, e.String())
	}
	return out, nil
}

// armMinutes is one arm's bucket counts per look end (ms) and le.
type armMinutes struct {
	counts map[int64]map[float64]float64
	bounds []float64 // the finite boundaries found, ascending
}

func readBuckets(mat model.Matrix) (armMinutes, error) {
	a := armMinutes{counts: map[int64]map[float64]float64{}}
	for _, s := range mat {
		text, ok := s.Metric[model.BucketLabel]
		if !ok {
			return a, fmt.Errorf("a series without an le label: %s", s.Metric)
		}
		le, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return a, fmt.Errorf("le=%q is not a number", text)
		}
		if !math.IsInf(le, 1) && !slices.Contains(a.bounds, le) {
			a.bounds = append(a.bounds, le)
		}
		for _, p := range s.Values {
			ts := int64(p.Timestamp)
			if a.counts[ts] == nil {
				a.counts[ts] = map[float64]float64{}
			}
			// Prometheus before 3.0 kept le as written ("0.5", "0.50"):
			// buckets equal as numbers are one bucket.
			a.counts[ts][le] += float64(p.Value)
		}
	}
	slices.Sort(a.bounds)
	return a, nil
}

// minute returns the arm's requests and slow requests at ts. ok is false
// when the buckets cannot be used (a bucket missing, a count that is not
// a finite non-negative number, or the threshold's bucket above the total,
// which a counter reset seen by only some buckets leaves); an arm with no
// samples at all at ts served nothing (ok, zero).
func (a armMinutes) minute(ts int64, threshold float64) (total, slow float64, why string) {
	b, ok := a.counts[ts]
	if !ok {
		return 0, 0, ""
	}
	total, hasTotal := b[math.Inf(1)]
	fast, hasFast := b[threshold]
	switch {
	case !hasTotal || !hasFast:
		return 0, 0, "a bucket is missing"
	case !finite(total) || !finite(fast) || total < 0 || fast < 0:
		return 0, 0, "a bucket's increase is not a finite count"
	case fast > total*(1+1e-9)+1e-9:
		return 0, 0, "a bucket counts more than the total (a counter reset or a scrape seen by some buckets only)"
	}
	return total, math.Max(0, total-fast), ""
}

func (c latencyDeltaCheck) run(ctx context.Context, l *look) CheckResult {
	queries, err := c.bucketQueries(l)
	var fe *FieldError
	if errors.As(err, &fe) {
		return noData(c.name(), fmt.Sprintf("the selector needs %s, which the request did not send", fe.Field))
	}
	if err != nil {
		return noData(c.name(), fmt.Sprintf("the queries cannot be built: %v", err))
	}
	if l.k < 1 {
		return noData(c.name(), "no completed minute of the stage yet", queries...)
	}
	mats, err := l.minuteRange(ctx, l.k, queries)
	if err != nil {
		return sourceError(c.name(), err, queries...)
	}
	var arms [2]armMinutes
	for i, mat := range mats {
		if arms[i], err = readBuckets(mat); err != nil {
			return noData(c.name(), fmt.Sprintf("the %s buckets cannot be read: %v", armName(i), err), queries...)
		}
	}
	thr := c.cfg.Threshold
	for i, a := range arms {
		if len(a.counts) == 0 {
			return noData(c.name(), fmt.Sprintf("no %s_bucket series for the %s in the stage window (classic histograms only: native histograms are not supported yet)",
				c.cfg.Histogram, armName(i)), queries...)
		}
		if !slices.Contains(a.bounds, thr) {
			return noData(c.name(), fmt.Sprintf("the threshold %s is not a bucket boundary of %s for the %s; the boundaries found are %s",
				num(thr), c.cfg.Histogram, armName(i), bounds(a.bounds)), queries...)
		}
	}

	minutes := make([]stats.Minute, 0, l.k)
	var leftOut []string
	lastBroken := ""
	for m := 1; m <= l.k; m++ {
		ts := l.lookEnd(m).UnixMilli()
		ct, cs, cwhy := arms[0].minute(ts, thr)
		bt, bs, bwhy := arms[1].minute(ts, thr)
		why := cwhy + bwhy
		if cwhy != "" {
			why = "canary: " + cwhy
		} else if bwhy != "" {
			why = "baseline: " + bwhy
		}
		if why != "" {
			leftOut = append(leftOut, fmt.Sprintf("minute %d (%s)", m, why))
			minutes = append(minutes, stats.Minute{})
			if m == l.k {
				lastBroken = why
			}
			continue
		}
		minutes = append(minutes, stats.Minute{CanaryTotal: ct, CanaryErrors: cs, BaselineTotal: bt, BaselineErrors: bs})
	}

	// The first look that reached a decision decides; every look is
	// recomputed from the same data.
	t := c.test(l.K)
	k := l.k
	var res stats.Result
	for j := 1; j <= l.k; j++ {
		res = t.Evaluate(minutes[:j], j)
		if res.Outcome == stats.Regression || res.Outcome == stats.NoRegression {
			k = j
			break
		}
	}

	r := result(c.name(), Inconclusive, "", queries...)
	r.Observed, r.Threshold, r.Unit = ptr(res.DHat*100), ptr(c.cfg.MarginPP), "percentage points"
	r.Details = latencyDetails(res, thr, arms, k, l)
	window := fmt.Sprintf("%s–%s (%s, range queries step 1m)",
		l.start.UTC().Format("15:04"), l.lookEnd(k).UTC().Format("15:04"), plural(k, "minute"))
	pcts := percentiles(arms, k, l)
	arm := fmt.Sprintf("canary %s of %s requests slower than %s (%s), baseline %s of %s (%s), difference %+.3fpp",
		num(res.CanaryErrors), num(res.CanaryTotal), num(thr), pct(res.CanaryRate),
		num(res.BaselineErrors), num(res.BaselineTotal), pct(res.BaselineRate), res.DHat*100)
	if len(leftOut) > 0 {
		arm += fmt.Sprintf("; left out: %s", strings.Join(leftOut, ", "))
	}
	rule := errorDeltaCheck{cfg: config.ErrorDelta{Alpha: c.cfg.Alpha}}.rule(res)
	if c.sequential > 1 {
		rule += fmt.Sprintf(" (the stage's α is split over its %d sequential checks)", c.sequential)
	}
	switch {
	case res.Outcome == stats.Regression:
		r.Verdict = Fail
		r.Sentence = fmt.Sprintf("latency regression beyond the %.2fpp margin, %s; established over %s: %s; %s", c.cfg.MarginPP, pcts, window, arm, rule)
	case res.Outcome == stats.NoRegression:
		r.Verdict = Pass
		r.Sentence = fmt.Sprintf("any rise of the slow share is within the %.2fpp margin, %s; over %s: %s; %s", c.cfg.MarginPP, pcts, window, arm, rule)
	case lastBroken != "":
		r.missingData = true
		r.Sentence = fmt.Sprintf("the latest minute's buckets cannot be used (%s), so this look waits; over %s: %s; %s", lastBroken, window, arm, pcts)
	case res.Minutes == 0:
		r.missingData = true
		r.Sentence = fmt.Sprintf("no minute yet in which both canary and baseline served requests over %s: %s", window, arm)
	case res.Outcome == stats.NotEnoughData:
		r.Sentence = fmt.Sprintf("not enough data yet over %s: %s; %s; %s", window, arm, pcts, needed(res, l.K-k, "slow request"))
	default:
		r.Sentence = fmt.Sprintf("undecided over %s: %s; %s; %s", window, arm, pcts, rule)
	}
	if k < l.k {
		r.Sentence += fmt.Sprintf(" (decided at look %d; every look recomputes the earlier ones)", k)
	}
	if r.Verdict == Inconclusive && !r.missingData {
		futility(&r, t.Futility(res), l)
	}
	return r
}

func armName(i int) string { return [...]string{"canary", "baseline"}[i] }

func bounds(bs []float64) string {
	if len(bs) == 0 {
		return "none (only +Inf)"
	}
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = strconv.FormatFloat(b, 'g', -1, 64)
	}
	return strings.Join(s, ", ") + ", +Inf"
}

func latencyDetails(res stats.Result, thr float64, arms [2]armMinutes, k int, l *look) map[string]float64 {
	d := res.Details()
	d["canary_slow"], d["baseline_slow"] = res.CanaryErrors, res.BaselineErrors
	delete(d, "canary_errors")
	delete(d, "baseline_errors")
	d["threshold"] = thr
	for i, a := range arms {
		b := a.window(l, k)
		for _, q := range quantiles {
			d[fmt.Sprintf("%s_p%s", armName(i), q.name)] = bucketQuantile(q.q, b)
		}
	}
	return d
}

var quantiles = []struct {
	name string
	q    float64
}{{"50", 0.5}, {"95", 0.95}, {"99", 0.99}}

// percentiles writes both arms' p50/p95/p99 over looks 1..k, e.g.
// "p50/p95/p99 canary 0.1/0.5/1 against baseline 0.1/0.447/0.5 (histogram_quantile over the window)".
func percentiles(arms [2]armMinutes, k int, l *look) string {
	var parts [2]string
	for i, a := range arms {
		b := a.window(l, k)
		vs := make([]string, len(quantiles))
		for j, q := range quantiles {
			vs[j] = quantileText(bucketQuantile(q.q, b))
		}
		parts[i] = strings.Join(vs, "/")
	}
	return fmt.Sprintf("p50/p95/p99 canary %s against baseline %s (histogram_quantile over the window)", parts[0], parts[1])
}

func quantileText(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// window sums the arm's usable bucket counts over looks 1..k.
func (a armMinutes) window(l *look, k int) map[float64]float64 {
	out := map[float64]float64{}
	for m := 1; m <= k; m++ {
		for le, v := range a.counts[l.lookEnd(m).UnixMilli()] {
			if finite(v) && v > 0 {
				out[le] += v
			}
		}
	}
	return out
}

// bucketQuantile is histogram_quantile's estimate from cumulative bucket
// counts by upper bound: linear within the bucket that holds the rank,
// the lowest bucket starting at 0, and the highest finite boundary when
// the rank falls in the +Inf bucket. NaN without a +Inf bucket, with
// fewer than two buckets or with no requests.
func bucketQuantile(q float64, buckets map[float64]float64) float64 {
	les := make([]float64, 0, len(buckets))
	for le := range buckets {
		les = append(les, le)
	}
	slices.Sort(les)
	if len(les) < 2 || !math.IsInf(les[len(les)-1], 1) {
		return math.NaN()
	}
	counts := make([]float64, len(les))
	for i, le := range les {
		counts[i] = buckets[le]
		if i > 0 {
			counts[i] = math.Max(counts[i], counts[i-1]) // monotonic, as Prometheus fixes it
		}
	}
	total := counts[len(counts)-1]
	if !(total > 0) {
		return math.NaN()
	}
	rank := q * total
	i, _ := slices.BinarySearchFunc(counts, rank, func(c, r float64) int {
		if c < r {
			return -1
		}
		return 1
	})
	if i >= len(les)-1 {
		return les[len(les)-2]
	}
	start, below := 0.0, 0.0
	if i > 0 {
		start, below = les[i-1], counts[i-1]
	} else if les[0] <= 0 {
		return les[0]
	}
	in := counts[i] - below
	if in <= 0 {
		return les[i]
	}
	return start + (les[i]-start)*(rank-below)/in
}
