package gate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

// TestShadowMode: a stage in shadow mode evaluates, records and explains
// as usual, but answers go with the evaluated verdict beside it.
func TestShadowMode(t *testing.T) {
	regressing := []arm{{"canary", 100, 0.03, -5, 10, false}, {"baseline", 1900, 0.005, -5, 10, false}}
	healthy := []arm{{"canary", 100, 0.005, -5, 10, false}, {"baseline", 1900, 0.005, -5, 10, false}}
	serviceShadow := strings.Replace(testPolicy, "    slo: {objective: 95}\n", "    slo: {objective: 95}\n    mode: shadow\n", 1)
	stageShadow := strings.Replace(testPolicy, "{name: canary, max_wait: 20m}", "{name: canary, max_wait: 20m, mode: shadow}", 1)
	stageEnforced := strings.Replace(serviceShadow, "{name: canary, max_wait: 20m}", "{name: canary, max_wait: 20m, mode: enforce}", 1)
	for _, tc := range []struct {
		name      string
		policy    string
		arms      []arm
		at        int
		want      Verdict
		mode      string
		evaluated Verdict // the shadow verdict; "" when none
	}{
		{"a regression in shadow mode is answered go with its no_go beside it", serviceShadow, regressing, 10, Go, ModeShadow, NoGo},
		{"shadow mode on one stage", stageShadow, regressing, 10, Go, ModeShadow, NoGo},
		{"a wait in shadow mode is answered go", stageShadow, healthy, 1, Go, ModeShadow, Wait},
		{"a go in shadow mode", stageShadow, healthy, 10, Go, ModeShadow, Go},
		{"a stage enforcing inside a shadow service", stageEnforced, regressing, 10, NoGo, ModeEnforce, ""},
		{"enforce by default", testPolicy, regressing, 10, NoGo, ModeEnforce, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, tc.arms...)
			e := f.engine(t, nil, t0.Add(time.Duration(tc.at)*time.Minute), tc.policy)
			d, err := e.Decide(context.Background(), ask("canary"))
			if err != nil {
				t.Fatal(err)
			}
			if d.Decision != tc.want || d.Mode != tc.mode {
				t.Fatalf("decision %s mode %s (%s), want %s in %s mode", d.Decision, d.Mode, d.Reason, tc.want, tc.mode)
			}
			if tc.evaluated == "" {
				if d.Shadow != nil {
					t.Fatalf("an enforced decision carries shadow %+v", d.Shadow)
				}
				return
			}
			if d.Shadow == nil || d.Shadow.Decision != tc.evaluated || d.Evaluated() != tc.evaluated {
				t.Fatalf("shadow %+v, want the evaluated %s beside the go", d.Shadow, tc.evaluated)
			}
			if d.RetryAfterSeconds != 0 || !strings.HasPrefix(d.Reason, "shadow mode: the gate evaluated "+string(tc.evaluated)) {
				t.Errorf("go answer with retry %d and reason %q", d.RetryAfterSeconds, d.Reason)
			}
			if tc.evaluated == NoGo && !strings.Contains(d.Shadow.Reason, "error_delta failed") {
				t.Errorf("shadow reason %q does not explain the no_go", d.Shadow.Reason)
			}
			// The record marks it as shadow, with the evaluated verdict.
			rec, err := f.store.GetDecision(context.Background(), d.ID)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Decision string `json:"decision"`
				Mode     string `json:"mode"`
				Shadow   struct {
					Decision string `json:"decision"`
				} `json:"shadow"`
			}
			if err := json.Unmarshal(rec.Body, &body); err != nil {
				t.Fatal(err)
			}
			if rec.Verdict != "go" || body.Mode != "shadow" || body.Shadow.Decision != string(tc.evaluated) {
				t.Errorf("recorded verdict %s, body mode %q shadow %q; want go, shadow, %s", rec.Verdict, body.Mode, body.Shadow.Decision, tc.evaluated)
			}
		})
	}
}

// An override is a person's decision: it is enforced in shadow mode too.
func TestShadowModeKeepsOverrides(t *testing.T) {
	f := newFixture(t)
	f.write(t, arm{"canary", 100, 0.005, -5, 10, false}, arm{"baseline", 1900, 0.005, -5, 10, false})
	now := t0.Add(10 * time.Minute)
	override(t, f.store, store.Override{Service: "checkout", Verdict: "no_go", CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)})
	policy := strings.Replace(testPolicy, "{name: canary, max_wait: 20m}", "{name: canary, max_wait: 20m, mode: shadow}", 1)
	e := f.engine(t, nil, now, policy)
	d, err := e.Decide(context.Background(), ask("canary"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != NoGo || d.Override == nil || d.Mode != ModeShadow || d.Shadow != nil {
		t.Fatalf("decision %s override %v mode %s shadow %+v; want the override's no_go, enforced", d.Decision, d.Override != nil, d.Mode, d.Shadow)
	}
}

// Shadow mode is part of the policy revision: the same stage enforced and
// in shadow mode never share a look.
func TestShadowModeChangesTheRevision(t *testing.T) {
	f := newFixture(t)
	enforced := f.engine(t, nil, t0, testPolicy)
	shadowed := f.engine(t, nil, t0, strings.Replace(testPolicy, "{name: canary, max_wait: 20m}", "{name: canary, max_wait: 20m, mode: shadow}", 1))
	svc, _ := enforced.cfg.Policy.Service("checkout")
	st, _ := svc.Stage("canary")
	svc2, _ := shadowed.cfg.Policy.Service("checkout")
	st2, _ := svc2.Stage("canary")
	if a, b := enforced.policies[st].revision, shadowed.policies[st2].revision; a == b {
		t.Fatalf("revision %s for both modes", a)
	}
}
