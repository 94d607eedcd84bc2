package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"

	"github.com/patchgate/patchgate/internal/store"
)

// Querier runs PromQL (internal/metricsource implements it).
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time) (model.Vector, error)
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error)
}

// Limits of a report's period.
const (
	DefaultPeriod = 30 * 24 * time.Hour
	MinPeriod     = time.Hour
	MaxPeriod     = 400 * 24 * time.Hour
	// steps is the number of steps of the trend charts.
	steps = 120
	// parallelQueries bounds the queries in flight at once.
	parallelQueries = 4
)

// Config is what Build needs.
type Config struct {
	Source Querier
	Events Events
	// Period ends at Now (default DefaultPeriod).
	Period time.Duration
	// Now defaults to time.Now; the period ends at Now truncated to the minute.
	Now func() time.Time
	// Targets default to DefaultTargets; a zero field takes its default.
	Targets Targets
	// DataSource and Store describe where the numbers came from, for the
	// reader (e.g. "Prometheus HTTP API at http://prometheus:9090").
	DataSource string
	Store      string
	// Title defaults to "Patch coverage report".
	Title string
}

func (c *Config) defaults() error {
	if c.Source == nil {
		return errors.New("metric source is required")
	}
	if c.Events == nil {
		return errors.New("events are required")
	}
	if c.Period == 0 {
		c.Period = DefaultPeriod
	}
	if err := CheckPeriod(c.Period); err != nil {
		return err
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	d := DefaultTargets()
	if c.Targets.Coverage == 0 {
		c.Targets.Coverage = d.Coverage
	}
	if c.Targets.Coverage < 0 || c.Targets.Coverage > 1 || c.Targets.Compliance < 0 || c.Targets.Compliance > 1 {
		return fmt.Errorf("targets: coverage %g and compliance %g must be fractions from 0 to 1", c.Targets.Coverage, c.Targets.Compliance)
	}
	if c.Targets.ExposureDays == 0 {
		c.Targets.ExposureDays = d.ExposureDays
	}
	tt := make(map[string]float64, len(d.TimeTo))
	for k, v := range d.TimeTo {
		tt[k] = v
	}
	for k, v := range c.Targets.TimeTo {
		if _, ok := tt[k]; !ok {
			return fmt.Errorf("targets: unknown lead time %q (have %v)", k, LeadTimeMetrics)
		}
		if v > 0 {
			tt[k] = v
		}
	}
	c.Targets.TimeTo = tt
	if c.Title == "" {
		c.Title = "Patch coverage report"
	}
	return nil
}

// CheckPeriod says whether d is a period the report accepts.
func CheckPeriod(d time.Duration) error {
	if d < MinPeriod || d > MaxPeriod {
		return fmt.Errorf("period %s is out of range: from %s to %s", model.Duration(d), model.Duration(MinPeriod), model.Duration(MaxPeriod))
	}
	return nil
}

// Build queries the metric source and the events and returns the report.
// A failing query or store read fails it; absent series do not, and are
// named in the report's notes (a figure without data never meets its target).
func Build(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	generated := cfg.Now().UTC()
	end := generated.Truncate(time.Minute)
	step := (cfg.Period / steps).Truncate(time.Second)
	qstart := end.Add(-steps * step)
	r := &Report{
		Title:       cfg.Title,
		GeneratedAt: generated,
		Period: Period{Start: end.Add(-cfg.Period), End: end,
			Length: model.Duration(cfg.Period).String(), Step: model.Duration(step).String()},
		DataSource: cfg.DataSource,
		Store:      cfg.Store,
		Targets:    cfg.Targets,
		Notes:      []string{},
	}

	var (
		coverageRec, coverageIn, complianceRec, complianceIn model.Matrix
		exposure                                             model.Matrix
		exp                                                  Exposure
		rolledBack, incCnt                                   Counts
		rollbackPts, incidentPts                             []Point
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelQueries)
	rangeQuery := func(out *model.Matrix, q string) {
		g.Go(func() error {
			m, err := cfg.Source.QueryRange(gctx, q, qstart, end, step)
			if err != nil {
				return fmt.Errorf("range query %s: %w", q, err)
			}
			*out = m
			return nil
		})
	}
	rangeQuery(&coverageRec, coverageSpec.recordedQuery())
	rangeQuery(&coverageIn, coverageSpec.inputQuery())
	rangeQuery(&complianceRec, complianceSpec.recordedQuery())
	rangeQuery(&complianceIn, complianceSpec.inputQuery())
	rangeQuery(&exposure, exposureQuery())
	var lead []leadQuery
	for _, m := range LeadTimeMetrics {
		lead = append(lead,
			leadQuery{metric: m, kind: p50, query: quantileQuery(m, 0.5, cfg.Period)},
			leadQuery{metric: m, kind: p90, query: quantileQuery(m, 0.9, cfg.Period)},
			leadQuery{metric: m, kind: count, query: countQuery(m, cfg.Period)})
	}
	for i := range lead {
		g.Go(func() error {
			v, err := cfg.Source.Query(gctx, lead[i].query, end)
			if err != nil {
				return fmt.Errorf("query %s: %w", lead[i].query, err)
			}
			lead[i].result = v
			return nil
		})
	}
	g.Go(func() (err error) {
		exp, err = openPatches(gctx, cfg.Events, end, cfg.Targets.ExposureDays)
		return err
	})
	g.Go(func() (err error) {
		rolledBack, rollbackPts, err = countEvents(gctx, cfg.Events, store.EventRolledBack, r.Period.Start, end, step)
		return err
	})
	g.Go(func() (err error) {
		incCnt, incidentPts, err = countEvents(gctx, cfg.Events, store.EventIncident, r.Period.Start, end, step)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("building the report: %w", err)
	}

	cov := newRatioFrames(coverageSpec, coverageRec, coverageIn)
	r.Coverage = cov.snapshot(end, cfg.Targets.Coverage)
	comp := newRatioFrames(complianceSpec, complianceRec, complianceIn)
	r.Compliance = comp.snapshot(end, cfg.Targets.Compliance)
	r.Exposure = exp
	r.Rollbacks, r.Incidents = rolledBack, incCnt
	r.LeadTimes = leadTimes(lead, cfg.Targets)

	coverageTarget := cfg.Targets.Coverage * 100
	var complianceTarget *float64
	if cfg.Targets.Compliance > 0 {
		complianceTarget = new(float64)
		*complianceTarget = cfg.Targets.Compliance * 100
	}
	exposureTarget := cfg.Targets.ExposureDays
	r.Trends = []Trend{
		{ID: "coverage", Title: "Patch coverage by severity", Unit: "%", Target: &coverageTarget, Series: cov.series("severity")},
		{ID: "exposure", Title: "Longest exposure window by severity", Unit: "days", Target: &exposureTarget, Series: matrixSeries(exposure, "severity")},
		{ID: "compliance", Title: "Compliance pass rate by cluster", Unit: "%", Target: complianceTarget, Series: comp.series("cluster")},
		{ID: "rollbacks_incidents", Title: "Rollbacks and patch-induced incidents per " + r.Period.Step, Unit: "events",
			Series: eventSeries(Series{Name: "rollbacks", Points: rollbackPts}, Series{Name: "incidents", Points: incidentPts})},
	}
	r.Notes = notes(r, cov, comp, exposure)
	return r, nil
}

// Kinds of lead-time query.
const (
	p50 = iota
	p90
	count
)

// leadQuery is one instant query of a lead-time metric and its answer.
type leadQuery struct {
	metric string
	kind   int
	query  string
	result model.Vector
}

// leadTimes assembles the lead-time rows: every metric by every severity
// seen in any of its answers, in severity order. A row meets its target
// when its 90th percentile is within it.
func leadTimes(qs []leadQuery, t Targets) []LeadTime {
	out := []LeadTime{}
	for _, m := range LeadTimeMetrics {
		rows := map[string]*LeadTime{}
		var sevs []string
		row := func(sev string) *LeadTime {
			if rows[sev] == nil {
				rows[sev] = &LeadTime{Metric: m, Severity: sev, Target: t.TimeTo[m], Status: NoData}
				sevs = append(sevs, sev)
			}
			return rows[sev]
		}
		for _, q := range qs {
			if q.metric != m {
				continue
			}
			for _, s := range q.result {
				x := float64(s.Value)
				if math.IsNaN(x) || math.IsInf(x, 0) {
					continue
				}
				lt := row(string(s.Metric["severity"]))
				switch q.kind {
				case p50:
					lt.P50 = &x
				case p90:
					lt.P90 = &x
				case count:
					lt.Count = x
				}
			}
		}
		slices.SortFunc(sevs, compareSeverity)
		for _, sev := range sevs {
			lt := rows[sev]
			if lt.P90 != nil && lt.Count > 0 {
				lt.Status = Missed
				if *lt.P90 <= lt.Target {
					lt.Status = Met
				}
			}
			out = append(out, *lt)
		}
	}
	return out
}

// matrixSeries turns a matrix into series named by a label ("" for a
// single unlabelled series).
func matrixSeries(m model.Matrix, label string) []Series {
	out := []Series{}
	for _, s := range m {
		name := string(s.Metric[model.LabelName(label)])
		ser := Series{Name: name, Points: make([]Point, 0, len(s.Values))}
		for _, p := range s.Values {
			v := float64(p.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			ser.Points = append(ser.Points, Point{T: p.Timestamp.Time().UTC(), V: v})
		}
		out = append(out, ser)
	}
	slices.SortFunc(out, func(a, b Series) int { return compareSeverity(a.Name, b.Name) })
	return out
}

// eventSeries keeps the series that have points.
func eventSeries(ss ...Series) []Series {
	out := []Series{}
	for _, s := range ss {
		if len(s.Points) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// notes names what is missing or approximate.
func notes(r *Report, cov, comp *ratioFrames, exposure model.Matrix) []string {
	out := []string{}
	end := r.Period.End.Format(time.RFC3339)
	if r.Coverage.Overall.Status == NoData {
		out = append(out, fmt.Sprintf("No patch coverage at %s: no %s (nor %s) samples; coverage is unknown, not met.", end, metricAssets, recordedCoverage))
	} else if r.Coverage.Source == "computed" {
		out = append(out, fmt.Sprintf("Coverage computed from %s: the recording rule's series %s is absent.", metricAssets, recordedCoverage))
	}
	if r.Compliance.Overall.Status == NoData {
		out = append(out, fmt.Sprintf("No compliance results at %s: no %s (nor %s) samples; compliance is unknown, not met.", end, metricComplianceChecks, recordedCompliance))
	} else if r.Compliance.Source == "computed" {
		out = append(out, fmt.Sprintf("Compliance computed from %s: the recording rule's series %s is absent.", metricComplianceChecks, recordedCompliance))
	}
	for _, rf := range []struct {
		name string
		f    *ratioFrames
	}{{"coverage", cov}, {"compliance", comp}} {
		if n := describeMix(rf.name, rf.f); n != "" {
			out = append(out, n+".")
		}
	}
	if len(exposure) == 0 {
		out = append(out, fmt.Sprintf("No %s samples in the period: the exposure trend is empty (the open patches below come from the store's events).", metricExposure))
	}
	seen := map[string]bool{}
	for _, lt := range r.LeadTimes {
		seen[lt.Metric] = true
	}
	for _, m := range LeadTimeMetrics {
		if !seen[m] {
			out = append(out, fmt.Sprintf("No %s observations in the period (%s_bucket).", m, leadTimeMetric(m)))
		}
	}
	if len(r.LeadTimes) > 0 {
		out = append(out, "Lead-time percentiles are estimated from histogram buckets (histogram_quantile), so they are as precise as the buckets.")
	}
	return out
}
