package gate

import (
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

func TestDecide(t *testing.T) {
	metric := func(name string, v CheckVerdict) CheckResult {
		return CheckResult{Name: name, Verdict: v, Sentence: name + " says " + string(v)}
	}
	missing := func(name string) CheckResult {
		r := metric(name, Inconclusive)
		r.missingData = true
		return r
	}
	futile := func(name string) CheckResult {
		r := metric(name, Inconclusive)
		r.futile = true
		return r
	}
	control := func(name string, v CheckVerdict) CheckResult {
		r := metric(name, v)
		r.control = true
		return r
	}
	expires := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	forceGo := &store.Override{ID: "o-1", Actor: "sre", Reason: "hotfix", Verdict: "go", ExpiresAt: expires}
	forceNoGo := &store.Override{ID: "o-2", Actor: "sre", Reason: "hold", Verdict: "no_go", ExpiresAt: expires}
	cases := []struct {
		name      string
		results   []CheckResult
		rules     rules
		want      Verdict
		prefix    string
		bypassed  []string
		overrides bool
		futile    bool
	}{
		{name: "no checks is a wait, never go", want: Wait, prefix: "no checks are configured"},
		{name: "all pass is go", results: []CheckResult{metric("a", Pass), metric("b", Pass)}, want: Go, prefix: "all 2 checks passed (a, b)"},
		{name: "one fail wins over waits", results: []CheckResult{metric("a", Inconclusive), metric("b", Fail)}, want: NoGo, prefix: "b failed: b says fail"},
		{name: "an inconclusive makes a wait", results: []CheckResult{metric("a", Pass), metric("b", Inconclusive)}, want: Wait, prefix: "b inconclusive"},
		{name: "an unknown verdict is never a pass", results: []CheckResult{metric("a", Pass), metric("b", "maybe")}, want: NoGo, prefix: "b failed"},
		{name: "an empty verdict is never a pass", results: []CheckResult{metric("a", "")}, want: NoGo, prefix: "a failed"},
		{name: "others are named after the first", results: []CheckResult{metric("a", Fail), metric("b", Fail)}, want: NoGo, prefix: "a failed: a says fail (also failed: b)"},
		{name: "controls are named first", results: []CheckResult{metric("a", Fail), control("freeze", Fail)}, want: NoGo, prefix: "freeze failed"},
		{name: "a control's wait after passing metrics", results: []CheckResult{metric("a", Pass), control("window", Inconclusive)}, want: Wait, prefix: "window inconclusive: window says inconclusive; the other checks passed"},
		{
			name:    "a metric wait at max_wait is the policy's no_go",
			results: []CheckResult{metric("a", Inconclusive)}, rules: rules{timedOut: true, onTimeout: NoGo, maxWait: config.Duration(20 * time.Minute)},
			want: NoGo, prefix: "undecided: still inconclusive after max_wait 20m, so the policy answers no_go: a inconclusive",
		},
		{
			name:    "a metric wait at max_wait is the policy's go",
			results: []CheckResult{metric("a", Inconclusive)}, rules: rules{timedOut: true, onTimeout: Go, maxWait: config.Duration(20 * time.Minute)},
			want: Go, prefix: "undecided: still inconclusive after max_wait 20m, so the policy answers go",
		},
		{
			name:    "missing data at max_wait is never go",
			results: []CheckResult{missing("freshness")}, rules: rules{timedOut: true, onTimeout: Go, maxWait: config.Duration(20 * time.Minute)},
			want: NoGo, prefix: "undecided: still inconclusive after max_wait 20m, so the policy answers no_go",
		},
		{
			name:    "a control's wait is not timed out into go",
			results: []CheckResult{metric("a", Inconclusive), control("window", Inconclusive)}, rules: rules{timedOut: true, onTimeout: Go},
			want: Wait, prefix: "window inconclusive",
		},
		{
			name:    "a timed-out no_go stands beside a control's wait",
			results: []CheckResult{metric("a", Inconclusive), control("concurrency", Inconclusive)}, rules: rules{timedOut: true, onTimeout: NoGo},
			want: NoGo, prefix: "undecided: still inconclusive after max_wait",
		},
		{
			name:    "a control's wait alone is not timed out",
			results: []CheckResult{metric("a", Pass), control("window", Inconclusive)}, rules: rules{timedOut: true, onTimeout: NoGo},
			want: Wait, prefix: "window inconclusive",
		},
		{
			name:    "a futile wait answers on_timeout now",
			results: []CheckResult{futile("error_delta"), metric("b", Pass)}, rules: rules{answerFutility: true, onTimeout: NoGo, maxWait: config.Duration(60 * time.Minute)},
			want: NoGo, prefix: "undecided: no decision is within reach before max_wait 1h at the traffic seen so far, so the policy answers no_go now", futile: true,
		},
		{
			name:    "on_futility: wait keeps waiting",
			results: []CheckResult{futile("error_delta")}, rules: rules{onTimeout: NoGo},
			want: Wait, prefix: "error_delta inconclusive",
		},
		{
			name:    "a futile check beside one still able to decide waits",
			results: []CheckResult{futile("error_delta"), metric("latency_delta", Inconclusive)}, rules: rules{answerFutility: true, onTimeout: NoGo},
			want: Wait, prefix: "error_delta inconclusive",
		},
		{
			name:    "a futile wait under a closed window waits for the window",
			results: []CheckResult{futile("error_delta"), control("window", Inconclusive)}, rules: rules{answerFutility: true, onTimeout: Go},
			want: Wait, prefix: "window inconclusive",
		},
		{
			name:    "an override to go applies last and names what it bypassed",
			results: []CheckResult{metric("a", Fail), control("freeze", Fail), metric("b", Pass)}, rules: rules{override: forceGo},
			want: Go, prefix: "overridden by sre until 2026-12-02T00:00:00Z: hotfix; bypassed checks: a, freeze; the checks said no_go: freeze failed",
			bypassed: []string{"a", "freeze"}, overrides: true,
		},
		{
			name:    "an override to no_go bypasses the passing checks",
			results: []CheckResult{metric("a", Pass), metric("b", Inconclusive)}, rules: rules{override: forceNoGo},
			want: NoGo, prefix: "overridden by sre until 2026-12-02T00:00:00Z: hold; bypassed checks: a; the checks said wait",
			bypassed: []string{"a"}, overrides: true,
		},
		{
			name:    "an override that agrees bypasses nothing",
			results: []CheckResult{metric("a", Pass)}, rules: rules{override: forceGo},
			want: Go, prefix: "overridden by sre until 2026-12-02T00:00:00Z: hotfix; no check disagreed", bypassed: []string{}, overrides: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := decide(tc.results, tc.rules)
			if out.verdict != tc.want || !strings.HasPrefix(out.reason, tc.prefix) {
				t.Fatalf("decide = %s (%s), want %s starting %q", out.verdict, out.reason, tc.want, tc.prefix)
			}
			if out.futile != tc.futile || out.futile && out.timedOut {
				t.Fatalf("futile %v, timed out %v; want futile %v", out.futile, out.timedOut, tc.futile)
			}
			if (out.override != nil) != tc.overrides {
				t.Fatalf("override shown: %v, want %v", out.override != nil, tc.overrides)
			}
			if tc.overrides && strings.Join(out.override.BypassedChecks, ",") != strings.Join(tc.bypassed, ",") {
				t.Errorf("bypassed %v, want %v", out.override.BypassedChecks, tc.bypassed)
			}
		})
	}
}

// TestDecideReadsOnlyItsArguments: the same results give the same answer
// in any order of equal-ranked checks' arrival, and the results are not
// changed.
func TestDecideLeavesResultsAlone(t *testing.T) {
	results := []CheckResult{
		{Name: "a", Verdict: Pass, Sentence: "fine"},
		{Name: "window", Verdict: Inconclusive, Sentence: "closed", control: true},
		{Name: "b", Verdict: Fail, Sentence: "bad"},
	}
	before := []string{results[0].Name, results[1].Name, results[2].Name}
	first := decide(results, rules{})
	second := decide(results, rules{})
	if first.reason != second.reason || first.verdict != NoGo {
		t.Fatalf("decide gave %v then %v", first, second)
	}
	for i, r := range results {
		if r.Name != before[i] {
			t.Fatalf("decide reordered its argument: %v", results)
		}
	}
}
