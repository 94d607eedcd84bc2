package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/store"
)

// stagedPolicy maps a Canary to a service of four stages without naming a
// stage: patchgate follows the stages itself.
const stagedPolicy = `source: {type: embedded}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99.9}
    checks: {error_delta: {}}
    stages: [{name: canary}, {name: 25pct}, {name: 50pct}, {name: 100pct}]
integrations:
  flagger:
    targets:
      - {namespace: shop, name: checkout, service: checkout}
`

// stageGate answers as a stage's data would: wait at the first ask of a
// stage (its window has just begun), then the stage's verdict (go unless
// set). It keeps the stages asked and the Canary weight at each ask.
type stageGate struct {
	mu      sync.Mutex
	weight  *int
	verdict map[string]gate.Verdict
	asks    map[string]int
	asked   []string // "stage@weight:verdict"
}

func (g *stageGate) Decide(_ context.Context, req gate.Request) (gate.Decision, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.asks[req.Stage]++
	v := gate.Wait
	if g.asks[req.Stage] > 1 {
		v = gate.Go
		if w, ok := g.verdict[req.Stage]; ok {
			v = w
		}
	}
	g.asked = append(g.asked, fmt.Sprintf("%s@%d:%s", req.Stage, *g.weight, v))
	return decisionFor(req, v), nil
}

// flaggerSim plays Flagger's scheduler for one revision, as
// pkg/controller/scheduler.go does each interval: rollback hooks once the
// canary has traffic, confirm-traffic-increase while a step is left (with
// stepWeight also at the maximum weight), one step on a 2xx, and at the
// maximum weight confirm-promotion.
type flaggerSim struct {
	t                 *testing.T
	h                 http.Handler
	body              string
	weight            int
	stepWeights       []int // the weights in order; the last is the maximum
	againAtMax        bool  // stepWeight: confirm-traffic-increase is asked at the maximum too
	promoted, rolled  bool
	increases, denied int
}

func (f *flaggerSim) call(hook string) bool {
	f.t.Helper()
	rec := flaggerPost(f.t, f.h, "/v1/integrations/flagger/"+hook+"/t/"+ciToken, f.body)
	if rec.Code != http.StatusOK && rec.Code != http.StatusPreconditionFailed {
		f.t.Fatalf("%s at weight %d: status %d: %s", hook, f.weight, rec.Code, rec.Body)
	}
	return flaggerApproves(rec.Code)
}

func (f *flaggerSim) interval() {
	max := f.stepWeights[len(f.stepWeights)-1]
	if f.weight > 0 && f.call("rollback") {
		f.rolled, f.weight = true, 0
		return
	}
	if f.weight < max || f.againAtMax {
		if !f.call("confirm-traffic-increase") {
			f.denied++
			return
		}
	}
	if f.weight < max {
		f.weight = f.stepWeights[slices.IndexFunc(f.stepWeights, func(w int) bool { return w > f.weight })]
		f.increases++
		return
	}
	f.promoted = f.call("confirm-promotion")
}

func newStagedFlagger(t *testing.T, stepWeights []int, againAtMax bool, verdicts map[string]gate.Verdict) (*flaggerSim, *stageGate, store.Store) {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite", t.TempDir()+"/patchgate.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &flaggerSim{t: t, stepWeights: stepWeights, againAtMax: againAtMax,
		body: `{"name":"checkout","namespace":"shop","phase":"Progressing","checksum":"7f8d9c6b5a","metadata":{"patch_id":"openssl-3.0.15"}}`}
	g := &stageGate{weight: &f.weight, verdict: verdicts, asks: map[string]int{}}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s, _ := newTestServer(t, g, withPolicy(t, stagedPolicy), func(c *Config) {
		c.Operator = st
		c.Now = func() time.Time { now = now.Add(time.Minute); return now }
	})
	f.h = s.Handler()
	return f, g, st
}

func TestFlaggerAsksEveryStage(t *testing.T) {
	// Each interval from the first step on asks twice: the rollback hook,
	// then confirm-traffic-increase (or confirm-promotion); both ask the
	// stage last started. The first ask of a stage waits (stageGate).
	for _, tt := range []struct {
		name        string
		stepWeights []int
		againAtMax  bool
		asked       []string
	}{
		{
			// stepWeight 25, maxWeight 75: confirm-traffic-increase at 0, 25, 50 and again at 75.
			name: "one step per stage", stepWeights: []int{25, 50, 75}, againAtMax: true,
			asked: []string{"canary@25:wait", "canary@25:go", "25pct@50:wait", "25pct@50:go",
				"50pct@75:wait", "50pct@75:go", "100pct@75:wait", "100pct@75:go", "100pct@75:go", "100pct@75:go"},
		},
		{
			// stepWeights [10, 50]: fewer steps than stages; promotion walks the rest.
			name: "fewer steps than stages", stepWeights: []int{10, 50},
			asked: []string{"canary@10:wait", "canary@10:go", "25pct@50:wait", "25pct@50:go",
				"50pct@50:wait", "50pct@50:go", "100pct@50:wait", "100pct@50:go"},
		},
		{
			// More steps than stages: the last stage is asked before each remaining step.
			name: "more steps than stages", stepWeights: []int{10, 20, 30, 40, 50, 60},
			asked: []string{"canary@10:wait", "canary@10:go", "25pct@20:wait", "25pct@20:go",
				"50pct@30:wait", "50pct@30:go", "100pct@40:wait", "100pct@40:go", "100pct@50:go", "100pct@50:go",
				"100pct@60:go", "100pct@60:go"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, g, st := newStagedFlagger(t, tt.stepWeights, tt.againAtMax, nil)
			for i := 0; i < 30 && !f.promoted; i++ {
				f.interval()
			}
			if !f.promoted || f.rolled {
				t.Fatalf("promoted %v, rolled back %v; asked %v", f.promoted, f.rolled, g.asked)
			}
			if !slices.Equal(g.asked, tt.asked) {
				t.Errorf("asked\n  %v\nwant\n  %v", g.asked, tt.asked)
			}
			events, err := st.ListEvents(t.Context(), store.EventFilter{PatchID: "openssl-3.0.15", Type: store.EventStageStarted})
			if err != nil {
				t.Fatal(err)
			}
			var started []string
			for _, e := range events {
				if e.Attempt != "7f8d9c6b5a" || e.Service != "checkout" || e.Actor != "ci" || e.Labels["flagger_canary"] != "shop/checkout" {
					t.Errorf("stage_started %+v", e)
				}
				started = append(started, e.Stage)
			}
			if want := []string{"canary", "25pct", "50pct", "100pct"}; !slices.Equal(started, want) {
				t.Errorf("stages started %v, want %v", started, want)
			}
		})
	}
}

func TestFlaggerStageNoGo(t *testing.T) {
	f, g, _ := newStagedFlagger(t, []int{25, 50, 75}, true, map[string]gate.Verdict{"25pct": gate.NoGo})
	for i := 0; i < 10 && !f.rolled && !f.promoted; i++ {
		f.interval()
	}
	if !f.rolled || f.promoted {
		t.Fatalf("rolled back %v, promoted %v; asked %v", f.rolled, f.promoted, g.asked)
	}
	// The rollback hook asks the stage last started: 25pct, at 50% traffic.
	if last := g.asked[len(g.asked)-1]; last != "25pct@50:no_go" {
		t.Errorf("last ask %s, want 25pct@50:no_go (asked %v)", last, g.asked)
	}
	if slices.ContainsFunc(g.asked, func(a string) bool { return strings.HasPrefix(a, "50pct") }) {
		t.Errorf("50pct asked after a no_go of 25pct: %v", g.asked)
	}
}

// TestFlaggerStageRetry: Flagger retries a call whose answer it lost; the
// retry must not skip the stage the lost go started.
func TestFlaggerStageRetry(t *testing.T) {
	f, g, _ := newStagedFlagger(t, []int{25, 50, 75}, true, nil)
	f.call("confirm-traffic-increase") // starts canary
	f.weight = 25
	f.call("confirm-traffic-increase") // canary: wait
	f.call("confirm-traffic-increase") // canary: go, starts 25pct; say the answer is lost
	if f.call("confirm-traffic-increase") {
		t.Errorf("the retry was approved; asked %v", g.asked)
	}
	want := []string{"canary@25:wait", "canary@25:go", "25pct@25:wait"}
	if !slices.Equal(g.asked, want) {
		t.Errorf("asked %v, want %v", g.asked, want)
	}
}

// TestFlaggerFirstStep: the first call of a revision approves the first
// step without a decision and says so; rollback before it is a no.
func TestFlaggerFirstStep(t *testing.T) {
	f, g, _ := newStagedFlagger(t, []int{25, 50}, false, nil)
	rec := flaggerPost(t, f.h, "/v1/integrations/flagger/rollback/t/"+ciToken, f.body)
	if rec.Code != http.StatusPreconditionFailed || !strings.Contains(rec.Body.String(), "nothing to roll back") {
		t.Errorf("rollback before any stage: %d %s", rec.Code, rec.Body)
	}
	rec = flaggerPost(t, f.h, "/v1/integrations/flagger/confirm-traffic-increase/t/"+ciToken, f.body)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"started":"canary"`) ||
		!strings.Contains(rec.Body.String(), "no traffic to judge yet") {
		t.Errorf("first confirm-traffic-increase: %d %s", rec.Code, rec.Body)
	}
	if len(g.asked) != 0 {
		t.Errorf("the gate was asked %v", g.asked)
	}
	// Without a checksum nothing can be followed.
	noSum := strings.Replace(f.body, `"checksum":"7f8d9c6b5a",`, "", 1)
	rec = flaggerPost(t, f.h, "/v1/integrations/flagger/confirm-traffic-increase/t/"+ciToken, noSum)
	if e := errorOf(t, rec); rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusBadRequest || e.Field != "checksum" {
		t.Errorf("no checksum: %d %+v", rec.Code, e)
	}
}
