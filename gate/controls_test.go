package gate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/store"
)

// healthy is canary and baseline traffic that the checks pass at t0+10m.
var healthy = []arm{{"canary", 100, 0.005, -5, 10, false}, {"baseline", 1900, 0.005, -5, 10, false}}

// regressing is canary traffic that error_delta fails at t0+10m.
var regressing = []arm{{"canary", 100, 0.03, -5, 10, false}, {"baseline", 1900, 0.005, -5, 10, false}}

// clock is a settable clock for an engine.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func (f *fixture) controlledEngine(t *testing.T, c *clock, policy string) *Engine {
	t.Helper()
	cfg, err := config.Parse("policy.yaml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Policy: cfg, Source: f.src, Store: f.store, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func override(t *testing.T, st store.Store, o store.Override) store.Override {
	t.Helper()
	if o.Actor == "" {
		o.Actor = "sre-alice"
	}
	if o.Reason == "" {
		o.Reason = "hotfix for INC-7"
	}
	stored, err := st.CreateOverride(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

func TestOverride(t *testing.T) {
	ten := t0.Add(10 * time.Minute)
	for _, tc := range []struct {
		name      string
		arms      []arm
		overrides []store.Override
		want      Verdict
		bypassed  []string
		reason    string // the override's reason, when one applies
	}{
		{
			name:      "go over a failing check lists it as bypassed",
			arms:      regressing,
			overrides: []store.Override{{Service: "checkout", Verdict: "go", ExpiresAt: ten.Add(time.Hour), Reason: "ship the fix"}},
			want:      Go, bypassed: []string{"error_delta"}, reason: "ship the fix",
		},
		{
			name:      "no_go over passing checks lists them",
			arms:      healthy,
			overrides: []store.Override{{Service: "checkout", Verdict: "no_go", ExpiresAt: ten.Add(time.Hour), Reason: "hold"}},
			want:      NoGo, bypassed: []string{"freshness", "min_traffic", "error_delta", "burn_rate", "alerts"}, reason: "hold",
		},
		{
			name: "service+patch+stage beats service+patch beats service",
			arms: healthy,
			overrides: []store.Override{
				{Service: "checkout", PatchID: "p-1", Stage: "canary", Verdict: "no_go", ExpiresAt: ten.Add(time.Hour), Reason: "stage"},
				{Service: "checkout", PatchID: "p-1", Verdict: "go", ExpiresAt: ten.Add(time.Hour), Reason: "patch"},
				{Service: "checkout", Verdict: "go", ExpiresAt: ten.Add(time.Hour), Reason: "service"},
			},
			want: NoGo, bypassed: []string{"freshness", "min_traffic", "error_delta", "burn_rate", "alerts"}, reason: "stage",
		},
		{
			name: "service+patch beats a newer service-wide one",
			arms: regressing,
			overrides: []store.Override{
				{Service: "checkout", PatchID: "p-1", Verdict: "go", ExpiresAt: ten.Add(time.Hour), Reason: "patch"},
				{Service: "checkout", Verdict: "no_go", ExpiresAt: ten.Add(time.Hour), Reason: "service"},
			},
			want: Go, bypassed: []string{"error_delta"}, reason: "patch",
		},
		{
			name: "overrides of other patches, stages and services do not apply",
			arms: regressing,
			overrides: []store.Override{
				{Service: "checkout", PatchID: "p-2", Verdict: "go", ExpiresAt: ten.Add(time.Hour)},
				{Service: "checkout", Stage: "fleet", Verdict: "go", ExpiresAt: ten.Add(time.Hour)},
				{Service: "search", Verdict: "go", ExpiresAt: ten.Add(time.Hour)},
			},
			want: NoGo,
		},
		{
			name:      "an expired override does not apply",
			arms:      regressing,
			overrides: []store.Override{{Service: "checkout", Verdict: "go", ExpiresAt: ten}},
			want:      NoGo,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, tc.arms...)
			for _, o := range tc.overrides {
				override(t, f.store, o)
			}
			e := f.controlledEngine(t, &clock{ten}, testPolicy+"      - {name: fleet}\n")
			d, err := e.Decide(context.Background(), ask("canary"))
			if err != nil {
				t.Fatal(err)
			}
			if d.Decision != tc.want {
				t.Fatalf("decision = %s (%s), want %s", d.Decision, d.Reason, tc.want)
			}
			if tc.reason == "" {
				if d.Override != nil {
					t.Errorf("override %+v applied, want none", d.Override)
				}
				return
			}
			if d.Override == nil || d.Override.Reason != tc.reason || d.Override.Actor != "sre-alice" {
				t.Fatalf("override = %+v, want the one with reason %q", d.Override, tc.reason)
			}
			if !slices.Equal(d.Override.BypassedChecks, tc.bypassed) {
				t.Errorf("bypassed = %v, want %v", d.Override.BypassedChecks, tc.bypassed)
			}
			wantReason := "overridden by sre-alice until " + d.Override.ExpiresAt.UTC().Format(time.RFC3339) + ": " + tc.reason
			if !strings.HasPrefix(d.Reason, wantReason) || !strings.Contains(d.Reason, strings.Join(tc.bypassed, ", ")) {
				t.Errorf("reason %q, want it to start %q and name %v", d.Reason, wantReason, tc.bypassed)
			}
			if len(d.Checks) != 5 {
				t.Errorf("%d checks shown, want all 5 still run", len(d.Checks))
			}
			rec, err := f.store.GetDecision(context.Background(), d.ID)
			if err != nil || rec.Verdict != string(tc.want) || !strings.Contains(string(rec.Body), `"override":{`) {
				t.Errorf("recorded %+v, %v; want the overridden verdict with the override", rec, err)
			}
		})
	}
}

// TestOverrideLifecycle: an override applies at the next ask, also within
// the same look, and stops applying when it expires or is deleted.
func TestOverrideLifecycle(t *testing.T) {
	f := newFixture(t)
	f.write(t, regressing...)
	c := &clock{t0.Add(10 * time.Minute)}
	e := f.controlledEngine(t, c, testPolicy)
	decide := func(want Verdict, overridden bool) Decision {
		t.Helper()
		d, err := e.Decide(context.Background(), ask("canary"))
		if err != nil {
			t.Fatal(err)
		}
		if d.Decision != want || (d.Override != nil) != overridden {
			t.Fatalf("at %s: decision %s (override %v): %s; want %s, overridden %v", c.t.Format("15:04:05"), d.Decision, d.Override != nil, d.Reason, want, overridden)
		}
		return d
	}
	first := decide(NoGo, false)
	o := override(t, f.store, store.Override{Service: "checkout", Verdict: "go", ExpiresAt: c.t.Add(30 * time.Minute)})
	e.ControlsChanged() // the server calls this after creating one
	c.t = c.t.Add(5 * time.Second)
	under := decide(Go, true)
	if under.ID == first.ID {
		t.Error("the overridden answer reused the recorded decision of the look")
	}
	c.t = c.t.Add(29*time.Minute + 55*time.Second) // the expiry instant
	decide(NoGo, false)

	c.t = t0.Add(10 * time.Minute)
	decide(Go, true)
	if _, err := f.store.DeleteOverride(context.Background(), o.ID, "sre-bob", "fixed", c.t); err != nil {
		t.Fatal(err)
	}
	e.ControlsChanged()
	decide(NoGo, false)
}

// TestWindowSchedule asks a 22:00–04:00 Europe/Berlin window at Berlin
// times either side of midnight and at noon, in winter (CET) and summer
// (CEST).
func TestWindowSchedule(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	night := func(days ...string) weekly {
		var ds []config.Weekday
		for _, d := range days {
			ds = append(ds, config.WeekdayOf(d))
		}
		return compileWeekly(ds, config.ClockOf("22:00"), config.ClockOf("04:00"), config.TimeZoneOf("Europe/Berlin"))
	}
	weekdays, daily := night("mon", "tue", "wed", "thu"), night()
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name   string
		w      weekly
		asked  string // Berlin time
		open   bool
		edge   string // Berlin time the window closes (open) or next opens
		edgeUT string // the same instant in UTC
	}{
		{"thu 23:30 CET is inside", daily, "2026-11-26 23:30", true, "2026-11-27 04:00", "2026-11-27T03:00:00Z"},
		{"fri 03:30 CET is inside the window that began thursday", daily, "2026-11-27 03:30", true, "2026-11-27 04:00", "2026-11-27T03:00:00Z"},
		{"12:00 CET waits for 22:00", daily, "2026-11-26 12:00", false, "2026-11-26 22:00", "2026-11-26T21:00:00Z"},
		{"04:00 is the end, not inside", daily, "2026-11-27 04:00", false, "2026-11-27 22:00", "2026-11-27T21:00:00Z"},
		{"22:00 is the start, inside", daily, "2026-11-26 22:00", true, "2026-11-27 04:00", "2026-11-27T03:00:00Z"},
		{"summer: 23:30 CEST is 21:30 UTC and inside", daily, "2026-07-02 23:30", true, "2026-07-03 04:00", "2026-07-03T02:00:00Z"},
		{"thursday's window still covers friday 03:30", weekdays, "2026-11-27 03:30", true, "2026-11-27 04:00", "2026-11-27T03:00:00Z"},
		{"friday 23:30 waits for monday 22:00", weekdays, "2026-11-27 23:30", false, "2026-11-30 22:00", "2026-11-30T21:00:00Z"},
		{"saturday 03:30 is outside (no window friday night)", weekdays, "2026-11-28 03:30", false, "2026-11-30 22:00", "2026-11-30T21:00:00Z"},
		{"spring forward: sunday 22:00 after the change is CEST", daily, "2026-03-29 12:00", false, "2026-03-29 22:00", "2026-03-29T20:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The same instant asked in UTC and in New York answers the same.
			for _, loc := range []*time.Location{berlin, time.UTC, mustLoad(t, "America/New_York")} {
				open, edge := tc.w.at(at(tc.asked).In(loc))
				if open != tc.open || !edge.Equal(at(tc.edge)) || edge.UTC().Format(time.RFC3339) != tc.edgeUT {
					t.Errorf("asked %s (as %s): open %v until/next %s; want open %v, %s (%s)",
						tc.asked, loc, open, edge.In(berlin).Format("2006-01-02 15:04 MST"), tc.open, tc.edge, tc.edgeUT)
				}
			}
		})
	}
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const controlsPolicy = `
controls:
  windows:
    - {start: "22:00", end: "04:00", time_zone: Europe/Berlin}
  freezes:
    - {from: "2026-12-20T00:00:00+01:00", to: "2027-01-04T00:00:00+01:00", reason: year-end freeze}
  emergency: {severities: [critical]}
`

// TestWindowsAndFreezes: outside the window a healthy stage waits until
// it opens; in a freeze it is no_go; a critical patch passes both; the
// answer names the rule.
func TestWindowsAndFreezes(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	for _, tc := range []struct {
		name     string
		berlin   string // wall clock of the ask; the data is shifted to end there
		severity string // params.severity
		event    string // severity of a discovered event
		want     Verdict
		check    string
		verdict  CheckVerdict
		sentence string
		retry    int
	}{
		{"inside the window at 23:30 is a go", "2026-11-26 23:30", "", "", Go, "window", Pass, "inside the maintenance window every day 22:00–04:00 Europe/Berlin", 0},
		{"inside the window at 03:30 is a go", "2026-11-27 03:30", "", "", Go, "window", Pass, "until Fri 04:00 CET", 0},
		{"at noon it waits until 22:00", "2026-11-26 12:00", "", "", Wait, "window", Inconclusive, "opens at Thu 2026-11-26 22:00 CET (in 10h0m0s)", 36000},
		{"an emergency severity passes outside the window", "2026-11-26 12:00", "critical", "", Go, "window", Pass, "severity critical takes the emergency path", 0},
		{"a high severity does not", "2026-11-26 12:00", "high", "", Wait, "window", Inconclusive, "outside the maintenance windows", 36000},
		{"in the freeze it is no_go with the reason", "2026-12-24 23:30", "", "", NoGo, "freeze", Fail, "change freeze until 2027-01-03T23:00:00Z (configured freeze 1): year-end freeze", 0},
		{"a critical patch passes the freeze", "2026-12-24 23:30", "critical", "", Go, "freeze", Pass, "severity critical takes the emergency path", 0},
		{"the discovered event's severity counts", "2026-12-24 23:30", "", "critical", Go, "freeze", Pass, "severity critical takes the emergency path", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local, err := time.ParseInLocation("2006-01-02 15:04", tc.berlin, berlin)
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t)
			// The fixture writes data around t0; the ask is 10 minutes after
			// the stage starts at the asked wall clock, so shift t0 there.
			start := local.Add(-10 * time.Minute)
			shift := start.Sub(t0)
			var samples []arm
			samples = append(samples, healthy...)
			f.writeShifted(t, shift, samples...)
			e := f.controlledEngine(t, &clock{local}, testPolicy+controlsPolicy)
			if tc.event != "" {
				_, _, err := f.store.AppendEvent(context.Background(), store.Event{
					PatchID: "p-1", Type: store.EventDiscovered, Time: start.Add(-time.Hour), Severity: tc.event, IdempotencyKey: "d1",
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			req := Request{Service: "checkout", PatchID: "p-1", Stage: "canary",
				Params: map[string]string{ParamStageStartedAt: start.UTC().Format(time.RFC3339)}}
			if tc.severity != "" {
				req.Params[ParamSeverity] = tc.severity
			}
			d, err := e.Decide(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			c := checkNamed(d, tc.check)
			if d.Decision != tc.want || c.Verdict != tc.verdict {
				t.Fatalf("decision %s, %s check %s (%s); want %s, %s", d.Decision, tc.check, c.Verdict, d.Reason, tc.want, tc.verdict)
			}
			if !strings.Contains(c.Sentence, tc.sentence) {
				t.Errorf("%s sentence %q does not say %q", tc.check, c.Sentence, tc.sentence)
			}
			if tc.verdict != Pass && !strings.HasPrefix(d.Reason, tc.check) {
				t.Errorf("reason %q does not start with the rule that applied (%s)", d.Reason, tc.check)
			}
			if d.RetryAfterSeconds != tc.retry {
				t.Errorf("retry_after = %d, want %d", d.RetryAfterSeconds, tc.retry)
			}
		})
	}
}

func TestBadControlParams(t *testing.T) {
	f := newFixture(t)
	e := f.controlledEngine(t, &clock{t0.Add(10 * time.Minute)}, testPolicy+controlsPolicy+`
clusters: [{name: eu-1, hosts: 100}]
concurrency: {max_services: 2, max_cluster_hosts_percent: 10}
`)
	for _, tc := range []struct {
		params map[string]string
		field  string
	}{
		{map[string]string{ParamSeverity: "urgent", ParamCluster: "eu-1"}, "params.severity"},
		{map[string]string{}, "params.cluster"},
		{map[string]string{ParamCluster: "mars-1"}, "params.cluster"},
		{map[string]string{ParamCluster: "eu-1", ParamHosts: "-3"}, "params.hosts"},
		{map[string]string{ParamCluster: "eu-1", ParamHosts: "many"}, "params.hosts"},
	} {
		req := ask("canary")
		for k, v := range tc.params {
			req.Params[k] = v
		}
		_, err := e.Decide(context.Background(), req)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("params %v: error %v, want a field error naming %s", tc.params, err, tc.field)
		}
	}
}

// TestStageStartedEvent: without params.stage_started_at the window
// starts at the stage attempt's stage_started event.
func TestStageStartedEvent(t *testing.T) {
	f := newFixture(t)
	f.write(t, healthy...)
	for i, ev := range []store.Event{
		{Attempt: "other", Time: t0.Add(-time.Hour)},
		{Attempt: "", Time: t0.Add(-2 * time.Minute)},
		{Attempt: "7", Time: t0},
		{Attempt: "7", Time: t0.Add(time.Hour)}, // after now: not yet
	} {
		ev.PatchID, ev.Service, ev.Stage, ev.Type = "p-1", "checkout", "canary", store.EventStageStarted
		ev.IdempotencyKey = string(rune('a' + i))
		if _, _, err := f.store.AppendEvent(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	e := f.controlledEngine(t, &clock{t0.Add(10 * time.Minute)}, testPolicy)
	for _, tc := range []struct {
		attempt string
		start   time.Time
		source  string
	}{
		{"7", t0, "event"},
		{"8", t0.Add(-2 * time.Minute), "event"}, // the event naming no attempt
	} {
		d, err := e.Decide(context.Background(), Request{Service: "checkout", PatchID: "p-1", Stage: "canary",
			Params: map[string]string{ParamAttempt: tc.attempt}})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Window.Start.Equal(tc.start) || d.Window.StartSource != tc.source {
			t.Errorf("attempt %s: window starts %s from %s, want %s from %s", tc.attempt, d.Window.Start, d.Window.StartSource, tc.start, tc.source)
		}
	}
	d, err := e.Decide(context.Background(), Request{Service: "checkout", PatchID: "p-2", Stage: "canary"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Window.StartSource != "first_ask" {
		t.Errorf("a patch without events: window source %s, want first_ask", d.Window.StartSource)
	}
}

// writeShifted is write with the arms' minutes counted from t0+shift.
func (f *fixture) writeShifted(t testing.TB, shift time.Duration, arms ...arm) {
	t.Helper()
	var samples []metricsource.Sample
	base := t0.Add(shift)
	for _, a := range arms {
		var ok, bad float64
		for ts := base.Add(time.Duration(a.from) * time.Minute); !ts.After(base.Add(time.Duration(a.to) * time.Minute)); ts = ts.Add(15 * time.Second) {
			ok += a.rps * 15 * (1 - a.p)
			bad += a.rps * 15 * a.p
			for code, v := range map[string]float64{"200": ok, "500": bad} {
				samples = append(samples, metricsource.Sample{
					Labels: map[string]string{"__name__": "http_requests_total", "service": "checkout", "track": a.track, "code": code},
					T:      ts, V: v,
				})
			}
		}
	}
	if err := f.src.Append(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkDecideCachedControls is BenchmarkDecideCached with every
// operator control on: a window, a freeze, an emergency policy, a
// concurrency limit and an override in the store.
func BenchmarkDecideCachedControls(b *testing.B) {
	f := benchFixture(b)
	now := t0.Add(10 * time.Minute)
	cfg, err := config.Parse("policy.yaml", []byte(testPolicy+`
controls:
  windows: [{start: "08:00", end: "20:00", time_zone: Europe/Berlin}]
  freezes: [{from: "2026-12-20T00:00:00Z", to: "2027-01-04T00:00:00Z", reason: year end}]
  emergency: {severities: [critical]}
concurrency: {max_services: 3}
`))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.store.CreateOverride(context.Background(), store.Override{Service: "checkout", PatchID: "other", Verdict: "go",
		Reason: "r", Actor: "a", ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	e, err := New(Config{Policy: cfg, Source: f.src, Store: f.store, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	req := ask("canary")
	d, err := e.Decide(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	if d.Decision != Go || len(d.Checks) != 8 {
		b.Fatalf("decision %s with %d checks: %s", d.Decision, len(d.Checks), d.Reason)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Decide(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
