package gate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/internal/testbed"
)

const testPolicy = `
source: {type: embedded}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 95}
    checks:
      error_delta: {margin_pp: 0.5, alpha: 0.05}
      min_traffic: {requests: 500}
      burn_rate: {}
      alerts: {}
      freshness: {max_age: 3m}
    stages:
      - {name: canary, max_wait: 20m}
`

// t0 is the start of every stage window in these tests.
var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// arm is one track's traffic: requests per second and error ratio, written
// as exact counter increments every 15 seconds (no noise), from `from` to
// `to` minutes after t0.
type arm struct {
	track    string
	rps, p   float64
	from, to int
	nan      bool
}

type fixture struct {
	src   *metricsource.Embedded
	store store.Store
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return &fixture{src: testbed.Source(t), store: testbed.Store(t)}
}

// write appends the arms' request counters (testbed.Requests).
func (f *fixture) write(t testing.TB, arms ...arm) {
	t.Helper()
	traffic := make([]testbed.Traffic, len(arms))
	for i, a := range arms {
		traffic[i] = testbed.Traffic{Service: "checkout", Track: a.track, RPS: a.rps, ErrorRatio: a.p,
			From: t0.Add(time.Duration(a.from) * time.Minute), To: t0.Add(time.Duration(a.to) * time.Minute), NaN: a.nan}
	}
	if err := f.src.Append(context.Background(), testbed.Requests(traffic...)); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) firing(t *testing.T, alertname string, from, to int) {
	t.Helper()
	var samples []metricsource.Sample
	for ts := t0.Add(time.Duration(from) * time.Minute); !ts.After(t0.Add(time.Duration(to) * time.Minute)); ts = ts.Add(15 * time.Second) {
		samples = append(samples, metricsource.Sample{
			Labels: map[string]string{"__name__": "ALERTS", "alertname": alertname, "alertstate": "firing", "severity": "page", "service": "checkout"},
			T:      ts, V: 1,
		})
	}
	if err := f.src.Append(context.Background(), samples); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) engine(t testing.TB, src Querier, now time.Time, policy string) *Engine {
	t.Helper()
	cfg, err := config.Parse("policy.yaml", []byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	if src == nil {
		src = f.src
	}
	e, err := New(Config{Policy: cfg, Source: src, Store: f.store, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ask(stage string) Request {
	return Request{Service: "checkout", PatchID: "p-1", Stage: stage,
		Params: map[string]string{ParamStageStartedAt: t0.Format(time.RFC3339)}}
}

func checkNamed(d Decision, name string) CheckResult {
	for _, c := range d.Checks {
		if c.Name == name {
			return c
		}
	}
	return CheckResult{}
}

func TestChecks(t *testing.T) {
	// Canary at 5% of 2,000 req/s: 6,000 requests a minute.
	const canaryRPS, baselineRPS = 100, 1900
	cases := []struct {
		name      string
		arms      []arm
		alert     bool
		at        int // minutes after t0
		want      Verdict
		check     string
		checkWant CheckVerdict
		reason    []string
	}{
		{
			name: "healthy canary is a go",
			arms: []arm{{"canary", canaryRPS, 0.005, -5, 10, false}, {"baseline", baselineRPS, 0.005, -5, 10, false}},
			at:   10, want: Go, check: "error_delta", checkWant: Pass,
			reason: []string{"all 5 checks passed"},
		},
		{
			name: "regression beyond the margin is a no_go naming the numbers",
			arms: []arm{{"canary", canaryRPS, 0.03, -5, 10, false}, {"baseline", baselineRPS, 0.005, -5, 10, false}},
			at:   10, want: NoGo, check: "error_delta", checkWant: Fail,
			reason: []string{"error_delta failed: canary 3.00% errors (1,800 of 60,000) against baseline 0.50%", "+2.50 pp, beyond the 0.5 pp margin"},
		},
		{
			name: "within the margin but not yet shown is a wait",
			arms: []arm{{"canary", 10, 0.008, -5, 4, false}, {"baseline", baselineRPS, 0.005, -5, 4, false}},
			at:   4, want: Wait, check: "error_delta", checkWant: Inconclusive,
		},
		{
			name: "low traffic is a wait saying how much is needed",
			arms: []arm{{"canary", 0.05, 0.005, -5, 10, false}, {"baseline", baselineRPS, 0.005, -5, 10, false}},
			at:   10, want: Wait, check: "min_traffic", checkWant: Inconclusive,
			reason: []string{"not enough canary traffic", "more needed"},
		},
		{
			name: "stale data is never a go",
			arms: []arm{{"canary", canaryRPS, 0.005, -5, 5, false}, {"baseline", baselineRPS, 0.005, -5, 5, false}},
			at:   15, want: Wait, check: "freshness", checkWant: Inconclusive,
			reason: []string{"stale or absent series are never a go"},
		},
		{
			name: "NaN samples are never a go",
			arms: []arm{{"canary", canaryRPS, 0.005, -5, 10, true}, {"baseline", baselineRPS, 0.005, -5, 10, true}},
			at:   10, want: Wait,
		},
		{
			name: "absent series are never a go",
			at:   10, want: Wait, check: "freshness", checkWant: Inconclusive,
		},
		{
			name:  "a firing page alert is a no_go",
			arms:  []arm{{"canary", canaryRPS, 0.005, -5, 10, false}, {"baseline", baselineRPS, 0.005, -5, 10, false}},
			alert: true, at: 10, want: NoGo, check: "alerts", checkWant: Fail,
			reason: []string{"CheckoutDown"},
		},
		{
			name: "a budget burning fast is a no_go",
			arms: []arm{{"canary", canaryRPS, 0.5, -5, 10, false}, {"baseline", baselineRPS, 0.5, -5, 10, false}},
			at:   10, want: NoGo, check: "burn_rate", checkWant: Fail,
			reason: []string{"burns its error budget too fast", "1h/5m burning", "against a limit of 14.4×", "6h/30m burning", "against a limit of 6×"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, tc.arms...)
			if tc.alert {
				f.firing(t, "CheckoutDown", 0, tc.at)
			}
			e := f.engine(t, nil, t0.Add(time.Duration(tc.at)*time.Minute), testPolicy)
			d, err := e.Decide(context.Background(), ask("canary"))
			if err != nil {
				t.Fatal(err)
			}
			if d.Decision != tc.want {
				t.Fatalf("decision = %s (%s), want %s", d.Decision, d.Reason, tc.want)
			}
			if tc.check != "" {
				c := checkNamed(d, tc.check)
				if c.Verdict != tc.checkWant {
					t.Fatalf("check %s = %s (%s), want %s", tc.check, c.Verdict, c.Sentence, tc.checkWant)
				}
				if len(c.Queries) == 0 {
					t.Errorf("check %s shows no query", tc.check)
				}
			}
			for _, s := range tc.reason {
				if !strings.Contains(d.Reason, s) {
					t.Errorf("reason %q does not mention %q", d.Reason, s)
				}
			}
			if d.ID == "" || d.PolicyRevision == "" || d.Window.StartSource != "request" {
				t.Errorf("decision lacks id, revision or window source: %+v", d)
			}
			rec, err := f.store.GetDecision(context.Background(), d.ID)
			if err != nil {
				t.Fatalf("decision not recorded: %v", err)
			}
			if rec.Verdict != string(d.Decision) {
				t.Errorf("recorded verdict %s, answered %s", rec.Verdict, d.Decision)
			}
		})
	}
}

// TestErrorDeltaArithmetic redoes the check's arithmetic from what the
// answer shows, as an SRE would.
func TestErrorDeltaArithmetic(t *testing.T) {
	f := newFixture(t)
	f.write(t, arm{"canary", 100, 0.03, -5, 10, false}, arm{"baseline", 1900, 0.005, -5, 10, false})
	e := f.engine(t, nil, t0.Add(10*time.Minute), testPolicy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	c := checkNamed(d, "error_delta")
	dt := c.Details
	// 10 minutes of 6,000 canary requests at 3% and 114,000 baseline at 0.5%.
	for name, want := range map[string]float64{"canary_total": 60000, "canary_errors": 1800, "baseline_total": 1140000, "baseline_errors": 5700} {
		if math.Abs(dt[name]-want) > want*1e-6 {
			t.Errorf("%s = %v, want %v", name, dt[name], want)
		}
	}
	if got := dt["s"] / math.Sqrt(dt["v"]); math.Abs(got-dt["z"]) > 1e-9 {
		t.Errorf("z = %v, but s/√v = %v", dt["z"], got)
	}
	if dt["z"] < dt["no_go_bound"] {
		t.Errorf("no_go with z %v below its bound %v", dt["z"], dt["no_go_bound"])
	}
	if *c.Observed < 2.49 || *c.Observed > 2.51 || *c.Threshold != 0.5 {
		t.Errorf("observed %v pp, threshold %v pp; want 2.5 and 0.5", *c.Observed, *c.Threshold)
	}
	if len(c.Queries) != 4 {
		t.Fatalf("queries = %q, want the four per-minute count queries", c.Queries)
	}
	if !strings.Contains(c.Queries[0], `track="canary"`) || !strings.Contains(c.Queries[0], "* 60") {
		t.Errorf("first query %q is not the canary's per-minute count", c.Queries[0])
	}
}

// attemptCounter counts the store reads of stage attempts.
type attemptCounter struct {
	Store // the real SQLite store
	n     atomic.Int64
}

func (c *attemptCounter) EnsureAttempt(ctx context.Context, a store.Attempt) (store.Attempt, error) {
	c.n.Add(1)
	return c.Store.EnsureAttempt(ctx, a)
}

// failing is a metric source that is down.
type failing struct{}

func (failing) Query(context.Context, string, time.Time) (model.Vector, error) {
	return nil, errors.New("connection refused")
}

func (failing) QueryRange(context.Context, string, time.Time, time.Time, time.Duration) (model.Matrix, error) {
	return nil, errors.New("connection refused")
}

func TestSourceDownIsNeverGo(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, failing{}, t0.Add(25*time.Minute), testPolicy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	// Past max_wait (20m) with the source down: the policy's no_go.
	if d.Decision != NoGo || !strings.Contains(d.Reason, "connection refused") {
		t.Fatalf("decision %s (%s), want no_go naming the source error", d.Decision, d.Reason)
	}
	e = f.engine(t, failing{}, t0.Add(5*time.Minute), testPolicy)
	d, err = e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != Wait || d.RetryAfterSeconds <= 0 {
		t.Fatalf("decision %s retry %d, want wait with retry_after", d.Decision, d.RetryAfterSeconds)
	}
}

func TestMaxWaitBecomesPolicyAnswer(t *testing.T) {
	for _, onTimeout := range []string{"no_go", "go"} {
		t.Run(onTimeout, func(t *testing.T) {
			f := newFixture(t)
			// Undecidable: canary at 0.8% vs 0.5% with little traffic, for 25 minutes.
			f.write(t, arm{"canary", 3, 0.008, -5, 25, false}, arm{"baseline", 1900, 0.005, -5, 25, false})
			policy := strings.Replace(testPolicy, "{name: canary, max_wait: 20m}", "{name: canary, max_wait: 20m, on_timeout: "+onTimeout+"}", 1)
			policy = strings.Replace(policy, "min_traffic: {requests: 500}", "min_traffic: {requests: 10}", 1)
			e := f.engine(t, nil, t0.Add(25*time.Minute), policy)
			d, err := e.Decide(context.Background(), ask("canary"))
			if err != nil {
				t.Fatal(err)
			}
			if string(d.Decision) != onTimeout || !strings.Contains(d.Reason, "max_wait 20m") || d.Outcome != OutcomeTimeout {
				t.Fatalf("decision %s outcome %q (%s), want %s after max_wait, outcome timeout", d.Decision, d.Outcome, d.Reason, onTimeout)
			}
			if d.Window.Look != 20 || d.Window.Looks != 20 {
				t.Errorf("look %d of %d, want 20 of 20", d.Window.Look, d.Window.Looks)
			}
		})
	}
}

func TestConcurrentAsksShareOneEvaluation(t *testing.T) {
	f := newFixture(t)
	f.write(t, arm{"canary", 100, 0.005, -5, 10, false}, arm{"baseline", 1900, 0.005, -5, 10, false})
	counting := metricsource.NewCounting(f.src)
	attempts := &attemptCounter{Store: f.store}
	e := f.engine(t, counting, t0.Add(10*time.Minute+20*time.Second), testPolicy)
	e.cfg.Store = attempts

	// One ask alone, on a fresh engine, to learn what one set costs.
	solo := f.engine(t, metricsource.NewCounting(f.src), t0.Add(10*time.Minute+20*time.Second), testPolicy)
	soloSrc := solo.cfg.Source.(*metricsource.Counting)
	if _, err := solo.Decide(context.Background(), ask("canary")); err != nil {
		t.Fatal(err)
	}
	oneSet := soloSrc.Count()

	var wg sync.WaitGroup
	ids := make([]string, 100)
	errs := make([]error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := e.Decide(context.Background(), ask("canary"))
			ids[i], errs[i] = d.ID, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("ask %d: %v", i, err)
		}
		if ids[i] != ids[0] {
			t.Fatalf("ask %d got decision %s, ask 0 got %s: one look, one decision", i, ids[i], ids[0])
		}
	}
	if got := counting.Count(); got != oneSet {
		t.Fatalf("100 concurrent identical asks sent %d queries; one set is %d", got, oneSet)
	}
	t.Logf("one set of queries = %d; 100 concurrent asks sent %d", oneSet, counting.Count())
	// The attempt is read once by the first asks, and once more by the
	// evaluation when an ask that found it remembered leads it: never
	// once per ask.
	if n := attempts.n.Load(); n > 2 {
		t.Fatalf("100 concurrent first asks read the stage attempt %d times; want at most 2", n)
	}
	list, err := f.store.ListDecisions(context.Background(), store.Filter{Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	// The solo engine asked the same look on the same store, as another
	// replica would: one decision per look across engines.
	if len(list) != 1 || list[0].ID != ids[0] {
		t.Fatalf("%d decisions recorded, want 1 (one look, two engines), the one answered (%s)", len(list), ids[0])
	}
}

func TestOutcomeIsKeptForTheAttempt(t *testing.T) {
	f := newFixture(t)
	// Regression for the first 6 minutes, then the canary looks healthy.
	f.write(t, arm{"canary", 100, 0.05, -5, 6, false}, arm{"baseline", 1900, 0.005, -5, 12, false})
	f.write(t, arm{"canary-later", 0, 0, 0, 0, false})
	e := f.engine(t, nil, t0.Add(6*time.Minute), testPolicy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != NoGo {
		t.Fatalf("first decision %s (%s), want no_go", d.Decision, d.Reason)
	}
	at, err := f.store.EnsureAttempt(context.Background(), store.Attempt{AttemptKey: store.AttemptKey{Service: "checkout", PatchID: "p-1", Stage: "canary", Attempt: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if at.Outcome != "no_go" || at.OutcomeLook != 6 {
		t.Fatalf("stored outcome %q at look %d, want no_go at 6", at.Outcome, at.OutcomeLook)
	}
	// A second replica (a new engine on the same store) asks later.
	e2 := f.engine(t, nil, t0.Add(9*time.Minute), testPolicy)
	d2, err := e2.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	c := checkNamed(d2, "error_delta")
	if c.Verdict != Fail || !strings.Contains(c.Sentence, "decided at look 6") {
		t.Fatalf("later look: error_delta %s (%s), want the kept fail", c.Verdict, c.Sentence)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	e := f.engine(t, nil, t0, testPolicy)
	cases := []struct {
		req   Request
		field string
		found bool
	}{
		{Request{Service: "nope", PatchID: "p", Stage: "canary"}, "service", false},
		{Request{Service: "checkout", PatchID: "p", Stage: "nope"}, "stage", false},
		{Request{Service: "checkout", Stage: "canary"}, "patch_id", true},
		{Request{Service: "checkout", PatchID: "p", Stage: "canary", Params: map[string]string{ParamStageStartedAt: "yesterday"}}, "params.stage_started_at", true},
	}
	for _, tc := range cases {
		t.Run(tc.field, func(t *testing.T) {
			_, err := e.Decide(context.Background(), tc.req)
			var nf *NotFoundError
			var fe *FieldError
			switch {
			case !tc.found && errors.As(err, &nf):
				if nf.Field != tc.field {
					t.Fatalf("not found field %s, want %s", nf.Field, tc.field)
				}
			case tc.found && errors.As(err, &fe):
				if fe.Field != tc.field {
					t.Fatalf("field %s, want %s", fe.Field, tc.field)
				}
			default:
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}

func Example_summarise() {
	fmt.Println(summarise([]CheckResult{{Name: "min_traffic", Verdict: Inconclusive, Sentence: "not enough canary traffic: 120 of 1,000 requests"}}, 1, "inconclusive"))
	// Output: min_traffic inconclusive: not enough canary traffic: 120 of 1,000 requests
}
