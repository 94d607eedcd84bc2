package gate

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
)

// TestAlertsCheckPatches: every page alert of the service blocks, whether it
// names this patch, another or none, and the sentence says which; ticket
// alerts and other services' alerts never block.
func TestAlertsCheckPatches(t *testing.T) {
	cases := []struct {
		name     string
		alerts   []map[string]string
		want     CheckVerdict
		sentence []string
		details  map[string]float64
	}{
		{
			name:     "a page about this patch",
			alerts:   []map[string]string{{"alertname": "PatchgateCanaryErrors", "severity": "page", "service": "checkout", "patch_id": "p-1"}},
			want:     Fail,
			sentence: []string{"1 page alert(s) firing for checkout: PatchgateCanaryErrors for this patch"},
			details:  map[string]float64{"this_patch": 1, "other_patches": 0, "no_patch": 0},
		},
		{
			name: "pages about another patch and about none",
			alerts: []map[string]string{
				{"alertname": "PatchgateRollbackFailed", "severity": "page", "service": "checkout", "patch_id": "kernel-6.1.119", "cluster": "eu-west-1"},
				{"alertname": "PatchgateRollbackFailed", "severity": "page", "service": "checkout", "patch_id": "kernel-6.1.119", "cluster": "us-east-1"},
				{"alertname": "CheckoutDown", "severity": "page", "service": "checkout"},
			},
			want:     Fail,
			sentence: []string{"3 page alert(s) firing for checkout: CheckoutDown, PatchgateRollbackFailed for patch kernel-6.1.119 (a page alert of the service blocks every patch of it)"},
			details:  map[string]float64{"this_patch": 0, "other_patches": 2, "no_patch": 1},
		},
		{
			name: "tickets and other services' pages",
			alerts: []map[string]string{
				{"alertname": "PatchgateHostPatchFailed", "severity": "ticket", "service": "checkout", "patch_id": "p-1"},
				{"alertname": "PatchgateCanaryErrors", "severity": "page", "service": "search", "patch_id": "p-1"},
			},
			want:     Pass,
			sentence: []string{"no page alerts firing for checkout"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, arm{"canary", 100, 0.005, -5, 10, false}, arm{"baseline", 1900, 0.005, -5, 10, false})
			var samples []metricsource.Sample
			for _, a := range tc.alerts {
				for ts := t0; !ts.After(t0.Add(10 * time.Minute)); ts = ts.Add(15 * time.Second) {
					ls := maps.Clone(a)
					ls["__name__"], ls["alertstate"] = "ALERTS", "firing"
					samples = append(samples, metricsource.Sample{Labels: ls, T: ts, V: 1})
				}
			}
			if err := f.src.Append(context.Background(), samples); err != nil {
				t.Fatal(err)
			}
			d, err := f.engine(t, nil, t0.Add(10*time.Minute), testPolicy).Decide(context.Background(), ask("canary"))
			if err != nil {
				t.Fatal(err)
			}
			c := checkNamed(d, "alerts")
			if c.Verdict != tc.want {
				t.Fatalf("alerts check %s (%s), want %s", c.Verdict, c.Sentence, tc.want)
			}
			for _, s := range tc.sentence {
				if !strings.Contains(c.Sentence, s) {
					t.Errorf("sentence %q lacks %q", c.Sentence, s)
				}
			}
			if tc.details != nil && !maps.Equal(c.Details, tc.details) {
				t.Errorf("details %v, want %v", c.Details, tc.details)
			}
		})
	}
}
