package report_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/report"
	"github.com/patchgate/patchgate/slo"
)

// end is the test's "now"; the period is the two days before it.
var end = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

const period = 48 * time.Hour

// fleet writes gauges and counters every 5 minutes over three days
// before end.
type fleet struct {
	samples []metricsource.Sample
}

func (f *fleet) series(labels map[string]string, value func(t time.Time) float64) {
	for t := end.Add(-72 * time.Hour); !t.After(end); t = t.Add(5 * time.Minute) {
		f.samples = append(f.samples, metricsource.Sample{Labels: labels, T: t, V: value(t)})
	}
}

func constant(v float64) func(time.Time) float64 { return func(time.Time) float64 { return v } }

// step is v before at and w from at on.
func step(at time.Time, v, w float64) func(time.Time) float64 {
	return func(t time.Time) float64 {
		if t.Before(at) {
			return v
		}
		return w
	}
}

func assets(cluster, severity, status string) map[string]string {
	return map[string]string{"__name__": "patchgate_fleet_assets", "cluster": cluster, "service": "checkout",
		"severity": severity, "patch_id": "p-" + severity, "status": status}
}

func newSource(t *testing.T, f *fleet) *metricsource.Embedded {
	t.Helper()
	src, err := metricsource.NewEmbedded(metricsource.EmbeddedConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	if err := src.Append(t.Context(), f.samples); err != nil {
		t.Fatal(err)
	}
	return src
}

// histogram writes a lead-time histogram for one severity whose
// observations all arrive at at, le bucket counts cumulative, as exported
// by each of the gate replicas named (every replica exports the same
// numbers, read from the shared store).
func (f *fleet) histogram(metric, severity string, at time.Time, buckets map[string]float64, replicas ...string) {
	name := "patchgate_patch_" + metric + "_seconds"
	if len(replicas) == 0 {
		replicas = []string{"gate-0"}
	}
	for _, instance := range replicas {
		for le, n := range buckets {
			f.series(map[string]string{"__name__": name + "_bucket", "severity": severity, "service": "checkout", "cluster": "eu", "le": le, "instance": instance}, step(at, 0, n))
			if le == "+Inf" {
				f.series(map[string]string{"__name__": name + "_count", "severity": severity, "service": "checkout", "cluster": "eu", "instance": instance}, step(at, 0, n))
			}
		}
	}
}

// newStore is a real SQLite store with events.
func newStore(t *testing.T, events ...store.Event) store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "patchgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i, e := range events {
		e.IdempotencyKey = fmt.Sprintf("k%d", i)
		if _, _, err := st.AppendEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func ev(patch, typ, service, severity string, ago time.Duration) store.Event {
	return store.Event{PatchID: patch, Type: typ, Service: service, Severity: severity, Time: end.Add(-ago)}
}

func build(t *testing.T, src report.Querier, ev report.Events, change ...func(*report.Config)) *report.Report {
	t.Helper()
	cfg := report.Config{Source: src, Events: ev, Period: period, Now: func() time.Time { return end.Add(42 * time.Second) },
		DataSource: "embedded", Store: "sqlite"}
	for _, f := range change {
		f(&cfg)
	}
	r, err := report.Build(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func near(got *float64, want float64) bool {
	return got != nil && math.Abs(*got-want) < 1e-9
}

func TestBuildCoverageComputedFromInput(t *testing.T) {
	f := &fleet{}
	// eu critical: 90 patched, 10 pending, 50 offline (not eligible).
	f.series(assets("eu", "critical", "patched"), constant(90))
	f.series(assets("eu", "critical", "pending"), constant(10))
	f.series(assets("eu", "critical", "offline"), constant(50))
	// us critical: 40 patched, 10 failed.
	f.series(assets("us", "critical", "patched"), constant(40))
	f.series(assets("us", "critical", "failed"), constant(10))
	// eu high: all 100 patched, but only in the last day.
	f.series(assets("eu", "high", "patched"), step(end.Add(-24*time.Hour), 0, 100))
	f.series(assets("eu", "high", "pending"), step(end.Add(-24*time.Hour), 100, 0))
	r := build(t, newSource(t, f), newStore(t))

	cov := r.Coverage
	if cov.Source != "computed" || !strings.Contains(cov.Expression, `status!="offline"`) {
		t.Errorf("coverage source %q, expression %q; want computed from the input", cov.Source, cov.Expression)
	}
	if o := cov.Overall; o.Good != 230 || o.Total != 250 || !near(o.Ratio, 230.0/250) || o.Status != report.Missed {
		t.Errorf("overall %+v, want 230 of 250 eligible (offline left out), missed", o)
	}
	want := map[string][2]float64{"critical": {130, 150}, "high": {100, 100}}
	if len(cov.BySeverity) != 2 || cov.BySeverity[0].Severity != "critical" {
		t.Fatalf("by severity %+v, want critical then high", cov.BySeverity)
	}
	for _, s := range cov.BySeverity {
		w := want[s.Severity]
		if s.Good != w[0] || s.Total != w[1] {
			t.Errorf("%s: %v of %v, want %v of %v", s.Severity, s.Good, s.Total, w[0], w[1])
		}
	}
	if high := cov.BySeverity[1]; high.Status != report.Met {
		t.Errorf("high at 100%% is %s", high.Status)
	}
	if len(cov.ByCluster) != 2 || cov.ByCluster[0].Cluster != "eu" || cov.ByCluster[0].Good != 190 || cov.ByCluster[0].Total != 200 {
		t.Errorf("by cluster %+v", cov.ByCluster)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "Coverage computed from patchgate_fleet_assets") }) {
		t.Errorf("the notes do not say coverage was computed: %q", r.Notes)
	}

	// The trend shows the high patch landing a day before the end.
	var trend report.Trend
	for _, tr := range r.Trends {
		if tr.ID == "coverage" {
			trend = tr
		}
	}
	var high report.Series
	for _, s := range trend.Series {
		if s.Name == "high" {
			high = s
		}
	}
	if len(high.Points) < 100 {
		t.Fatalf("high coverage trend has %d points, want one per step", len(high.Points))
	}
	first, last := high.Points[0], high.Points[len(high.Points)-1]
	if first.V != 0 || last.V != 100 || !last.T.Equal(end) {
		t.Errorf("high coverage trend from %+v to %+v, want 0%% to 100%% at %s", first, last, end)
	}
}

func TestBuildPrefersRecordedRatios(t *testing.T) {
	f := &fleet{}
	f.series(assets("eu", "critical", "patched"), constant(90))
	f.series(assets("eu", "critical", "pending"), constant(10))
	f.series(assets("us", "critical", "patched"), constant(300))
	f.series(assets("us", "critical", "pending"), constant(100))
	// The recording rule runs only for the last 12 hours, and (to tell its
	// numbers apart) says eu is at 50% and us at 100%.
	rec := func(cluster string, v float64) {
		f.series(map[string]string{"__name__": "patchgate:patch_coverage:ratio", "cluster": cluster, "service": "checkout", "severity": "critical"},
			step(end.Add(-12*time.Hour), math.NaN(), v))
	}
	rec("eu", 0.5)
	rec("us", 1)
	// NaN samples are stale markers for "absent" here; drop them.
	f.samples = slices.DeleteFunc(f.samples, func(s metricsource.Sample) bool { return math.IsNaN(s.V) })
	r := build(t, newSource(t, f), newStore(t))

	if r.Coverage.Source != "recorded" || r.Coverage.Expression != "patchgate:patch_coverage:ratio" {
		t.Errorf("coverage source %q %q, want the recorded series", r.Coverage.Source, r.Coverage.Expression)
	}
	// Weighed by eligible assets: (0.5·100 + 1·400) / 500.
	if o := r.Coverage.Overall; o.Total != 500 || !near(o.Ratio, 450.0/500) {
		t.Errorf("overall %+v, want the recorded ratios weighed by 100 and 400 assets: 0.9", o)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool {
		return strings.Contains(n, "coverage trend:") && strings.Contains(n, "computed from patchgate_fleet_assets where it was absent")
	}) {
		t.Errorf("the notes do not say the trend mixes recorded and computed steps: %q", r.Notes)
	}
	// Before the rule ran, the trend is computed: (90+300)/500 = 78%.
	all := r.Trends[0].Series[0]
	if all.Name != "all" || all.Points[0].V != 78 || all.Points[len(all.Points)-1].V != 90 {
		t.Errorf("overall trend %+v … %+v, want 78%% computed then 90%% recorded", all.Points[0], all.Points[len(all.Points)-1])
	}
}

func TestBuildCompliance(t *testing.T) {
	f := &fleet{}
	checks := func(cluster, result string, v float64) {
		f.series(map[string]string{"__name__": "patchgate_fleet_compliance_checks", "cluster": cluster, "service": "checkout", "result": result}, constant(v))
	}
	checks("eu", "pass", 98)
	checks("eu", "fail", 2)
	checks("us", "pass", 45)
	checks("us", "fail", 5)
	src := newSource(t, f)

	r := build(t, src, newStore(t))
	if c := r.Compliance.Overall; c.Good != 143 || c.Total != 150 || c.Status != report.NoTarget {
		t.Errorf("compliance %+v, want 143 of 150 and no target", c)
	}
	r = build(t, src, newStore(t), func(c *report.Config) { c.Targets.Compliance = 0.96 })
	if c := r.Compliance.ByCluster; len(c) != 2 || c[0].Status != report.Met || c[1].Status != report.Missed {
		t.Errorf("by cluster against 96%%: %+v, want eu met (98%%), us missed (90%%)", c)
	}
	if r.Trends[2].Target == nil || *r.Trends[2].Target != 96 {
		t.Errorf("compliance chart target %v, want 96", r.Trends[2].Target)
	}
}

func TestBuildLeadTimes(t *testing.T) {
	f := &fleet{}
	day := 86400.0
	// critical: 10 deployments, 9 within 3 days: p90 at most 3 days, within 7.
	// Exported by two replicas: counted once.
	f.histogram("time_to_deploy", "critical", end.Add(-30*time.Hour), map[string]float64{
		"3600": 0, "86400": 5, "259200": 9, "604800": 10, "1.2096e+06": 10, "+Inf": 10}, "gate-0", "gate-1")
	// high: 4 deployments, all between 7 and 14 days: missed.
	f.histogram("time_to_deploy", "high", end.Add(-30*time.Hour), map[string]float64{
		"3600": 0, "86400": 0, "259200": 0, "604800": 0, "1.2096e+06": 4, "+Inf": 4})
	r := build(t, newSource(t, f), newStore(t))

	rows := map[string]report.LeadTime{}
	for _, lt := range r.LeadTimes {
		if lt.Metric != report.TimeToDeploy {
			t.Errorf("row for %s without observations: %+v", lt.Metric, lt)
		}
		rows[lt.Severity] = lt
	}
	crit, high := rows["critical"], rows["high"]
	if crit.P50 == nil || *crit.P50 > day || crit.P90 == nil || *crit.P90 <= day || *crit.P90 > 3*day {
		t.Errorf("critical %+v: want median within a day and p90 between 1 and 3 days", crit)
	}
	if crit.Status != report.Met || crit.Target != 7*day {
		t.Errorf("critical status %s target %v, want met against 7 days", crit.Status, crit.Target)
	}
	if math.Abs(crit.Count-10) > 0.5 {
		t.Errorf("critical count %v, want 10 (two replicas export the same 10)", crit.Count)
	}
	if high.P90 == nil || *high.P90 <= 7*day || high.Status != report.Missed {
		t.Errorf("high %+v: want p90 beyond 7 days, missed", high)
	}
	for _, m := range []string{"time_to_discover", "time_to_test"} {
		if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "No "+m+" observations") }) {
			t.Errorf("notes do not say %s has no observations: %q", m, r.Notes)
		}
	}
}

// The rollbacks table and the rollbacks chart are the same stored events:
// they agree whatever the metric source holds (a counter born with its
// first rollback has no earlier sample, so increase() never saw it).
func TestBuildRollbacksTableAndChartAgree(t *testing.T) {
	f := &fleet{}
	f.series(map[string]string{"__name__": "patchgate_patch_rollbacks_total", "service": "payments", "cluster": "eu", "instance": "gate-0"},
		step(end.Add(-10*time.Hour), 5, 9)) // says 4: the store says 2
	st := newStore(t,
		ev("kernel", store.EventRolledBack, "payments", "high", 5*time.Hour),
		ev("kernel", store.EventRolledBack, "payments", "high", 20*time.Hour),
		ev("glibc", store.EventIncident, "checkout", "critical", 2*time.Hour),
		ev("glibc", store.EventRolledBack, "checkout", "critical", 40*24*time.Hour), // before the period
	)
	r := build(t, newSource(t, f), st)
	sums := map[string]float64{}
	for _, s := range r.Trends[3].Series {
		for _, p := range s.Points {
			sums[s.Name] += p.V
		}
	}
	if r.Rollbacks.Total != 2 || sums["rollbacks"] != 2 || r.Incidents.Total != 1 || sums["incidents"] != 1 {
		t.Errorf("table: %d rollbacks, %d incidents; chart: %v rollbacks, %v incidents; want 2 and 1 in both",
			r.Rollbacks.Total, r.Incidents.Total, sums["rollbacks"], sums["incidents"])
	}
	// Without events, neither: the chart has no series and says so.
	r = build(t, newSource(t, f), newStore(t))
	if r.Rollbacks.Total != 0 || len(r.Trends[3].Series) != 0 {
		t.Errorf("empty store: %d rollbacks in the table, chart series %+v", r.Rollbacks.Total, r.Trends[3].Series)
	}
}

// A lead-time histogram whose series first appears in the period with its
// first observations (a severity's first deployed patches) is counted.
func TestBuildLeadTimeSeriesBornInPeriod(t *testing.T) {
	f := &fleet{}
	at := end.Add(-30 * time.Hour)
	name := "patchgate_patch_time_to_deploy_seconds"
	for le, n := range map[string]float64{"3600": 0, "86400": 1, "259200": 2, "604800": 2, "+Inf": 2} {
		born := func(labels map[string]string) {
			for tt := at; !tt.After(end); tt = tt.Add(5 * time.Minute) {
				f.samples = append(f.samples, metricsource.Sample{Labels: labels, T: tt, V: n})
			}
		}
		born(map[string]string{"__name__": name + "_bucket", "severity": "critical", "service": "checkout", "cluster": "eu", "le": le})
		if le == "+Inf" {
			born(map[string]string{"__name__": name + "_count", "severity": "critical", "service": "checkout", "cluster": "eu"})
		}
	}
	r := build(t, newSource(t, f), newStore(t))
	var got *report.LeadTime
	for i, lt := range r.LeadTimes {
		if lt.Metric == "time_to_deploy" && lt.Severity == "critical" {
			got = &r.LeadTimes[i]
		}
	}
	if got == nil || got.Count != 2 || got.P90 == nil || got.Status != report.Met {
		t.Fatalf("time_to_deploy critical: %+v, want 2 observations, met", got)
	}
}

// "0 of 0 open" on an empty store is no evidence: the exposure figure has
// no data, in the JSON and on the tile, never met.
func TestBuildExposureWithoutEvents(t *testing.T) {
	src := newSource(t, &fleet{})
	r := build(t, src, newStore(t))
	if r.Exposure.Status != report.NoData {
		t.Errorf("empty store: exposure %s, want no_data", r.Exposure.Status)
	}
	var b strings.Builder
	if err := report.WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `of 0 open <span class="status no_data">no data</span>`) {
		t.Errorf("exposure tile on an empty store does not say no data:\n%s", b.String())
	}
	// Every patch deployed: 0 of 0 open, and that is met.
	r = build(t, src, newStore(t,
		ev("kernel", store.EventDiscovered, "checkout", "high", 3*24*time.Hour),
		ev("kernel", store.EventDeployed, "checkout", "high", 24*time.Hour)))
	if r.Exposure.Status != report.Met || len(r.Exposure.Open) != 0 {
		t.Errorf("all deployed: exposure %s with %d open, want met with 0", r.Exposure.Status, len(r.Exposure.Open))
	}
}

func TestBuildEvents(t *testing.T) {
	day := 24 * time.Hour
	st := newStore(t,
		// Open 20 days, past the 14-day target.
		ev("kernel", store.EventDiscovered, "checkout", "critical", 20*day),
		// Deployed to checkout, not to payments: open, 3 days.
		ev("glibc", store.EventDiscovered, "checkout", "high", 3*day),
		ev("glibc", store.EventDiscovered, "payments", "high", 3*day),
		ev("glibc", store.EventDeployed, "checkout", "high", day),
		// Deployed: closed.
		ev("openssl", store.EventDiscovered, "checkout", "medium", 30*day),
		ev("openssl", store.EventDeployed, "checkout", "medium", 2*day),
		// Discovered after the period's end: not in this report.
		store.Event{PatchID: "future", Type: store.EventDiscovered, Service: "checkout", Time: end.Add(time.Hour)},
		// Two rollbacks and an incident in the period, one rollback before it.
		ev("glibc", store.EventRolledBack, "payments", "high", day),
		ev("glibc", store.EventRolledBack, "payments", "high", 2*time.Hour),
		ev("glibc", store.EventRolledBack, "checkout", "high", 3*day),
		ev("glibc", store.EventIncident, "payments", "high", 3*time.Hour),
	)
	r := build(t, newSource(t, &fleet{}), st)

	open := r.Exposure.Open
	if len(open) != 2 || open[0].PatchID != "kernel" || open[1].PatchID != "glibc" {
		t.Fatalf("open patches %+v, want kernel then glibc (oldest first)", open)
	}
	if open[0].DaysOpen != 20 || open[0].Status != report.Missed || open[0].Severity != "critical" {
		t.Errorf("kernel %+v, want 20 days open, missed", open[0])
	}
	if open[1].DaysOpen != 3 || open[1].Status != report.Met || !slices.Equal(open[1].Services, []string{"payments"}) {
		t.Errorf("glibc %+v, want 3 days open on payments only, met", open[1])
	}
	if r.Exposure.OverTarget != 1 {
		t.Errorf("over target %d, want 1", r.Exposure.OverTarget)
	}
	if r.Rollbacks.Total != 2 || len(r.Rollbacks.ByService) != 1 || r.Rollbacks.ByService[0] != (report.KeyCount{Key: "payments", Count: 2}) {
		t.Errorf("rollbacks %+v, want 2 on payments in the period", r.Rollbacks)
	}
	if r.Incidents.Total != 1 {
		t.Errorf("incidents %+v, want 1", r.Incidents)
	}
}

func TestBuildWithoutDataIsNeverMet(t *testing.T) {
	r := build(t, newSource(t, &fleet{}), newStore(t))
	if r.Coverage.Overall.Status != report.NoData || r.Coverage.Overall.Ratio != nil {
		t.Errorf("coverage without data: %+v", r.Coverage.Overall)
	}
	if r.Compliance.Overall.Status != report.NoData {
		t.Errorf("compliance without data: %+v", r.Compliance.Overall)
	}
	for _, want := range []string{"No patch coverage at", "No compliance results at", "patchgate_vulnerability_exposure_window_seconds"} {
		if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, want) }) {
			t.Errorf("notes lack %q: %q", want, r.Notes)
		}
	}
	if r.Period.Length != "2d" || !r.Period.End.Equal(end) || !r.Period.Start.Equal(end.Add(-period)) || r.Period.Step != "24m" {
		t.Errorf("period %+v, want 2d ending %s in 24m steps", r.Period, end)
	}
	if !r.GeneratedAt.Equal(end.Add(42 * time.Second)) {
		t.Errorf("generated at %s", r.GeneratedAt)
	}
}

// failing fails every query.
type failing struct{}

func (failing) Query(context.Context, string, time.Time) (model.Vector, error) {
	return nil, errors.New("connection refused")
}

func (failing) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (model.Matrix, error) {
	return nil, errors.New("connection refused")
}

func TestBuildFailsWhenTheSourceFails(t *testing.T) {
	_, err := report.Build(t.Context(), report.Config{Source: failing{}, Events: newStore(t), Now: func() time.Time { return end }})
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "query") {
		t.Errorf("error %v, want the failing query named", err)
	}
}

func TestBuildInvalidConfig(t *testing.T) {
	src, st := newSource(t, &fleet{}), newStore(t)
	tests := []struct {
		name string
		cfg  report.Config
		want string
	}{
		{"no source", report.Config{Events: st}, "metric source is required"},
		{"no events", report.Config{Source: src}, "events are required"},
		{"short period", report.Config{Source: src, Events: st, Period: time.Minute}, "period 1m is out of range"},
		{"long period", report.Config{Source: src, Events: st, Period: 500 * 24 * time.Hour}, "out of range"},
		{"coverage in percent", report.Config{Source: src, Events: st, Targets: report.Targets{Coverage: 95}}, "fractions from 0 to 1"},
		{"unknown lead time", report.Config{Source: src, Events: st, Targets: report.Targets{TimeTo: map[string]float64{"time_to_lunch": 1}}}, `unknown lead time "time_to_lunch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := report.Build(t.Context(), tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), "invalid configuration: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want invalid configuration: …%s", err, tt.want)
			}
		})
	}
}

// TestExpressionsMatchTheRecordingRules: without the recorded series the
// report computes the rules' own expressions.
func TestExpressionsMatchTheRecordingRules(t *testing.T) {
	rules := map[string]string{}
	for _, g := range slo.LifecycleRules(config.Targets{}) {
		for _, r := range g.Rules {
			rules[r.Record] = strings.Join(strings.Fields(r.Expr), " ")
		}
	}
	r := build(t, newSource(t, &fleet{}), newStore(t))
	for record, got := range map[string]string{
		"patchgate:patch_coverage:ratio":  r.Coverage.Expression,
		"patchgate:compliance_pass:ratio": r.Compliance.Expression,
	} {
		if want := rules[record]; got != want {
			t.Errorf("%s:\nreport computes %s\nthe rule records %s", record, got, want)
		}
	}
}

// TestOpenPatchesMatchTheExposureGauge: the report's open patches follow
// the definition of patchgate_vulnerability_exposure_window_seconds: for
// every severity, the oldest open patch is the gauge's value.
func TestOpenPatchesMatchTheExposureGauge(t *testing.T) {
	day := 24 * time.Hour
	disclosed := func(e store.Event, ago time.Duration) store.Event {
		e.Labels = map[string]string{"disclosed_at": end.Add(-ago).Format(time.RFC3339)}
		return e
	}
	on := func(e store.Event, cluster string) store.Event { e.Cluster = cluster; return e }
	st := newStore(t,
		// Only discovered, disclosed earlier: open since the disclosure.
		disclosed(ev("a", store.EventDiscovered, "checkout", "critical", 5*day), 30*day),
		// Deployed in one cluster, rolled back in another: open.
		ev("b", store.EventDiscovered, "checkout", "critical", 20*day),
		on(ev("b", store.EventDeployed, "checkout", "critical", 3*day), "eu"),
		on(ev("b", store.EventRolledBack, "payments", "critical", 2*day), "us"),
		// A whole-service deployment after a cluster's stage: closed.
		ev("c", store.EventDiscovered, "search", "high", 40*day),
		on(ev("c", store.EventStageStarted, "search", "high", 10*day), "eu"),
		ev("c", store.EventDeployed, "search", "high", 9*day),
		// Only tested, no severity: open, severity unknown, from its first event.
		ev("d", store.EventTested, "search", "", 8*day),
		// Deployed then started again in the same cluster: open.
		ev("e", store.EventDiscovered, "payments", "medium", 12*day),
		on(ev("e", store.EventDeployed, "payments", "medium", 6*day), "eu"),
		on(ev("e", store.EventStageStarted, "payments", "medium", time.Hour), "eu"),
	)
	r := build(t, newSource(t, &fleet{}), st)

	events, err := st.ListEvents(t.Context(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	gauge := lifecycle.Compute(events, nil, lifecycle.ComputeConfig{Now: end})
	oldest := map[string]float64{}
	var ids []string
	for _, p := range r.Exposure.Open {
		oldest[p.Severity] = max(oldest[p.Severity], p.DaysOpen*86400)
		ids = append(ids, p.PatchID)
	}
	if strings.Join(ids, ",") != "a,b,e,d" {
		t.Errorf("open patches %v, want a, b, e, d (oldest first; c is deployed)", ids)
	}
	for _, sev := range []string{"critical", "high", "medium", "low", "unknown"} {
		want, ok := gauge.Value(lifecycle.ExposureWindow, sev)
		if !ok {
			t.Fatalf("the gauge has no %s series", sev)
		}
		if math.Abs(oldest[sev]-want) > 1e-6 {
			t.Errorf("%s: the report's oldest open patch is %v s, the gauge says %v s", sev, oldest[sev], want)
		}
	}
}
