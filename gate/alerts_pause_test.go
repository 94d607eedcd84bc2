package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
)

// TestBudgetAlertPausesNonCriticalPatches: while the weekly patching-budget
// ticket fires for the service, a patch that is not critical gets no_go
// from the alerts check and a critical one passes.
func TestBudgetAlertPausesNonCriticalPatches(t *testing.T) {
	policy := strings.Replace(testPolicy, "alerts: {}", "alerts: {pause_non_critical_on: [PatchgateErrorBudgetUsedByPatching]}", 1)
	cases := []struct {
		name     string
		firing   bool
		severity string
		want     CheckVerdict
		sentence string
	}{
		{"high patch paused", true, "high", Fail, "pauses patches that are not critical, and this patch is high"},
		{"patch without severity paused", true, "", Fail, "of unknown severity"},
		{"critical patch passes", true, "critical", Pass, "no page alerts firing"},
		{"nothing firing", false, "low", Pass, "none of PatchgateErrorBudgetUsedByPatching"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, arm{"canary", 100, 0.005, -5, 10, false}, arm{"baseline", 1900, 0.005, -5, 10, false})
			if tc.firing {
				var samples []metricsource.Sample
				for ts := t0; !ts.After(t0.Add(10 * time.Minute)); ts = ts.Add(15 * time.Second) {
					samples = append(samples, metricsource.Sample{T: ts, V: 1, Labels: map[string]string{
						"__name__": "ALERTS", "alertname": "PatchgateErrorBudgetUsedByPatching", "alertstate": "firing",
						"severity": "ticket", "service": "checkout"}})
				}
				if err := f.src.Append(context.Background(), samples); err != nil {
					t.Fatal(err)
				}
			}
			e := f.engine(t, nil, t0.Add(10*time.Minute), policy)
			req := ask("canary")
			if tc.severity != "" {
				req.Params[ParamSeverity] = tc.severity
			}
			d, err := e.Decide(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			c := checkNamed(d, "alerts")
			if c.Verdict != tc.want || !strings.Contains(c.Sentence, tc.sentence) {
				t.Fatalf("alerts check %s (%s), want %s with %q", c.Verdict, c.Sentence, tc.want, tc.sentence)
			}
			if tc.want == Fail && d.Decision != NoGo {
				t.Fatalf("decision %s, want no_go", d.Decision)
			}
		})
	}
}
