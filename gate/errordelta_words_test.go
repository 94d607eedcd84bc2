package gate

import (
	"strings"
	"testing"

	"github.com/patchgate/patchgate/gate/stats"
)

// The waiting sentence stays within what the stage can still see, names
// the minutes left out and reads counts as words.
func TestErrorDeltaWords(t *testing.T) {
	served := stats.Minute{CanaryTotal: 10, BaselineTotal: 10}
	noCanary := stats.Minute{BaselineTotal: 10}
	cases := []struct {
		name string
		got  string
		want []string
		not  []string
	}{
		{"more minutes than are left", needed(stats.Result{NeededCanaryRequests: 4500, NeededMinutes: 75, ExpectedCanaryErrors: 1}, 48, "error"),
			[]string{"about 4,500 more canary requests are needed, more than the 48 minutes left before max_wait bring", "1.0 canary error expected"}, []string{"75", "minute(s)"}},
		{"within the stage", needed(stats.Result{NeededCanaryRequests: 200, NeededMinutes: 1}, 40, "error"),
			[]string{"about 200 more canary requests and 1 more minute with both arms serving"}, []string{"minute(s)"}},
		{"slow requests", needed(stats.Result{NeededCanaryRequests: 300, ExpectedCanaryErrors: 2.5}, 40, "slow request"),
			[]string{"2.5 canary slow requests expected"}, nil},
		{"skipped minutes", skippedMinutes([]stats.Minute{served, noCanary, served, noCanary, {CanaryTotal: 5}}),
			[]string{"left out: minutes 2, 4 (the canary served nothing); minute 5 (the baseline served nothing)"}, nil},
		{"no skipped minutes", skippedMinutes([]stats.Minute{served}), nil, []string{"left out"}},
		{"one minute", plural(1, "minute"), []string{"1 minute"}, []string{"minutes"}},
		{"one error", plural(1, "error"), []string{"1 error"}, []string{"errors"}},
		{"errors", plural(1200, "error"), []string{"1,200 errors"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range c.want {
				if !strings.Contains(c.got, w) {
					t.Errorf("%q lacks %q", c.got, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(c.got, w) {
					t.Errorf("%q has %q", c.got, w)
				}
			}
		})
	}
}

// A futile result says why and is marked for the engine; a result still
// in reach is not.
func TestErrorDeltaFutility(t *testing.T) {
	l := &look{}
	r := CheckResult{Details: map[string]float64{}}
	futility(&r, stats.Futility{Futile: true, Reason: "data", LooksLeft: 48}, l)
	if r.Details["futile"] != 1 || !strings.Contains(r.Sentence, "cannot start within the 48 minutes left before max_wait") {
		t.Errorf("data futility: %q %v", r.Sentence, r.Details)
	}
	r = CheckResult{Details: map[string]float64{}}
	futility(&r, stats.Futility{Futile: true, Reason: "power", LooksLeft: 1, PowerNoGo: 0.0007, PowerGo: 0.00001}, l)
	if !strings.Contains(r.Sentence, "in the 1 minute left before max_wait (chance of reaching no_go 0.07%, go below 0.01%)") {
		t.Errorf("power futility: %q", r.Sentence)
	}
	r = CheckResult{Details: map[string]float64{}}
	futility(&r, stats.Futility{LooksLeft: 30}, l)
	if _, ok := r.Details["futile"]; ok || r.Sentence != "" {
		t.Errorf("in reach, yet marked: %q %v", r.Sentence, r.Details)
	}
}
