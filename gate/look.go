package gate

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/patchgate/patchgate/gate/stats"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/slo"
)

// look is one ask of a stage attempt, resolved: everything the checks
// need, with a query memo so that metric checks asking the same thing
// share one query.
type look struct {
	src    *memo // set when the metric checks run
	render *renders
	priors *priors
	logger *slog.Logger
	now    time.Time // when the ask came
	req    Request

	// revision names the stage's effective policy; metrics and controls
	// are the checks that apply to the ask; override is the operator's
	// override in force, if any.
	revision string
	mode     config.Mode
	metrics  []check
	controls []check
	override *store.Override

	// attempt is the stage attempt as read from the store (or this
	// replica's cache of it, when attemptCached).
	attempt       store.Attempt
	attemptCached bool

	service *config.Service
	stage   *config.Stage
	checks  config.Checks
	vars    slo.Vars

	canary, baseline []*labels.Matcher
	// canaryText and baselineText are the filled selectors as text, for
	// the caches' keys.
	canaryText, baselineText string

	// severity is the patch's severity (params.severity, else its
	// discovered event), read only when a check needs it; emergency is the
	// same when the service's emergency policy lets it through windows
	// and freezes, else "".
	severity, emergency string

	// cluster and hosts are the rollout's, for the concurrency limit.
	cluster string
	hosts   int

	start time.Time // window start
	at    time.Time // the instant the look is evaluated at (now − delay)
	k, K  int       // completed minutes evaluated, planned looks

	// outcome is the sequential test's stored final verdict ("" while
	// undecided) and outcomeLook the look it was reached at.
	outcome     string
	outcomeLook int

	minutesOnce sync.Once
	minutes     []stats.Minute
	minutesQ    []string
	minutesErr  error
}

// lookEnd is the end of the error-delta window at look k.
func (l *look) lookEnd(k int) time.Time { return l.start.Add(time.Duration(k) * time.Minute) }

// perMinute returns the canary and baseline counts per completed minute up
// to look k, from four range queries (step 1m) over the stage window.
func (l *look) perMinute(ctx context.Context, k int) ([]stats.Minute, []string, error) {
	if k == l.k {
		l.minutesOnce.Do(func() { l.minutes, l.minutesQ, l.minutesErr = l.fetchMinutes(ctx, k) })
		return l.minutes, l.minutesQ, l.minutesErr
	}
	return l.fetchMinutes(ctx, k)
}

func (l *look) fetchMinutes(ctx context.Context, k int) ([]stats.Minute, []string, error) {
	type arm struct {
		expr   string
		ms     []*labels.Matcher
		msText string
	}
	arms := []arm{
		{l.service.SLI.Total, l.canary, l.canaryText},
		{l.service.SLI.Errors, l.canary, l.canaryText},
		{l.service.SLI.Total, l.baseline, l.baselineText},
		{l.service.SLI.Errors, l.baseline, l.baselineText},
	}
	queries := make([]string, len(arms))
	for i, a := range arms {
		q, err := renderSLI(l.render, a.expr, time.Minute, a.ms, a.msText, 60)
		if err != nil {
			return nil, nil, err
		}
		queries[i] = q
	}
	if k < 1 {
		return nil, queries, nil
	}
	mats, err := l.minuteRange(ctx, k, queries)
	if err != nil {
		return nil, queries, err
	}
	series := make([]map[int64]float64, len(queries))
	for i, mat := range mats {
		if series[i], err = oneSeries(queries[i], mat); err != nil {
			return nil, queries, &queryError{index: i, of: len(queries), query: queries[i], err: err}
		}
	}
	out := make([]stats.Minute, 0, k)
	for m := 1; m <= k; m++ {
		ts := l.lookEnd(m).UnixMilli()
		mn := stats.Minute{
			CanaryTotal:    series[0][ts],
			CanaryErrors:   series[1][ts],
			BaselineTotal:  series[2][ts],
			BaselineErrors: series[3][ts],
		}
		if !usable(mn) {
			// A minute with a NaN, an infinity or a negative count is
			// left out whole: dropping only its errors would favour go.
			mn = stats.Minute{}
		}
		// Errors and requests come from separate series; extrapolation can
		// put errors a hair above requests when every request fails.
		mn.CanaryErrors = math.Min(mn.CanaryErrors, mn.CanaryTotal)
		mn.BaselineErrors = math.Min(mn.BaselineErrors, mn.BaselineTotal)
		out = append(out, mn)
	}
	return out, queries, nil
}

// minuteRange runs the queries as range queries with step 1m whose
// points are the ends of looks 1..k (k ≥ 1), concurrently, and returns
// their results in order. Each point is what an instant query at the end
// of that look returns, so one range query recomputes every look so far.
func (l *look) minuteRange(ctx context.Context, k int, queries []string) ([]model.Matrix, error) {
	first, last := l.lookEnd(1), l.lookEnd(k)
	mats := make([]model.Matrix, len(queries))
	errs := each(len(queries), func(i int) (err error) {
		mats[i], err = l.src.rangeQuery(ctx, queries[i], first, last, time.Minute)
		return err
	})
	for i, err := range errs {
		if err != nil {
			return nil, &queryError{index: i, of: len(queries), query: queries[i], err: err}
		}
	}
	return mats, nil
}

// queryError is a per-minute query that failed: index is its place among
// the of queries of a check (for error_delta: canary requests, canary
// errors, baseline requests, baseline errors).
type queryError struct {
	index, of int
	query     string
	err       error
}

func (e *queryError) Error() string {
	return fmt.Sprintf("query %d of %d (%s): %v", e.index+1, e.of, e.query, e.err)
}

func (e *queryError) Unwrap() error { return e.err }

// memo runs each distinct query once per look.
type memo struct {
	q  Querier
	mu sync.Mutex
	m  map[memoKey]*memoEntry
}

// memoKey names one query of a look: an instant query at ts, or a range
// query from start to end (ms) by step.
type memoKey struct {
	query          string
	ts, start, end int64
	step           time.Duration
	isRange        bool
}

type memoEntry struct {
	once sync.Once
	vec  model.Vector
	mat  model.Matrix
	err  error
}

func newMemo(q Querier) *memo { return &memo{q: q, m: map[memoKey]*memoEntry{}} }

func (m *memo) entry(key memoKey) *memoEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[key]
	if !ok {
		e = &memoEntry{}
		m.m[key] = e
	}
	return e
}

func (m *memo) instant(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	e := m.entry(memoKey{query: q, ts: ts.UnixMilli()})
	e.once.Do(func() { e.vec, e.err = m.q.Query(ctx, q, ts) })
	return e.vec, e.err
}

func (m *memo) rangeQuery(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	e := m.entry(memoKey{query: q, start: start.UnixMilli(), end: end.UnixMilli(), step: step, isRange: true})
	e.once.Do(func() { e.mat, e.err = m.q.QueryRange(ctx, q, start, end, step) })
	return e.mat, e.err
}

// rangeOne runs a range query that must return at most one series and
// returns its samples by timestamp (ms). NaN samples are left out.
func (m *memo) rangeOne(ctx context.Context, q string, start, end time.Time, step time.Duration) (map[int64]float64, error) {
	mat, err := m.rangeQuery(ctx, q, start, end, step)
	if err != nil {
		return nil, err
	}
	return oneSeries(q, mat)
}

// oneSeries returns the samples of a range query's result that must hold
// at most one series, by timestamp (ms).
func oneSeries(q string, mat model.Matrix) (map[int64]float64, error) {
	if len(mat) > 1 {
		return nil, fmt.Errorf("%s returned %d series; SLI queries must aggregate to one series (wrap them in sum())", q, len(mat))
	}
	out := map[int64]float64{}
	for _, s := range mat {
		for _, p := range s.Values {
			out[int64(p.Timestamp)] = float64(p.Value)
		}
	}
	return out, nil
}

func usable(m stats.Minute) bool {
	for _, v := range []float64{m.CanaryTotal, m.CanaryErrors, m.BaselineTotal, m.BaselineErrors} {
		if !finite(v) || v < 0 {
			return false
		}
	}
	return true
}

// instantOne runs an instant query that must return at most one series.
// ok is false when the result is empty.
func (m *memo) instantOne(ctx context.Context, q string, ts time.Time) (v float64, ok bool, err error) {
	vec, err := m.instant(ctx, q, ts)
	if err != nil {
		return 0, false, err
	}
	switch len(vec) {
	case 0:
		return 0, false, nil
	case 1:
		return float64(vec[0].Value), true, nil
	default:
		return 0, false, fmt.Errorf("%s returned %d series; it must aggregate to one series (wrap it in sum())", q, len(vec))
	}
}
