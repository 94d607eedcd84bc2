package gate

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestCheckExamples runs the example checks of
// testdata/config/checks.good.yml against written series: a healthy
// canary goes with every check passing, and each regression is the
// no_go of the check written for it.
func TestCheckExamples(t *testing.T) {
	policy, err := os.ReadFile("../testdata/config/checks.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	healthy := func(t *testing.T, f *fixture) {
		f.write(t, arm{"canary", 40, 0.001, -5, 10, false}, arm{"baseline", 40, 0.001, -5, 10, false})
		f.writeSeries(t, series("container_memory_working_set_bytes", "baseline", "container", "app"), -5, 10, constant(200e6))
		f.writeSeries(t, series("kube_pod_container_status_restarts_total", "canary", "pod", "checkout-v2-abc"), -5, 10, constant(0))
		f.writeSeries(t, series("process_cpu_seconds_total", "baseline"), -5, 10, func(m float64) float64 { return 100 + m*30 })
	}
	cases := []struct {
		name      string
		write     func(t *testing.T, f *fixture)
		want      Verdict
		failed    string
		histogram [2]map[string]float64
	}{
		{
			name: "a healthy canary goes",
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, constant(205e6))
				f.writeSeries(t, series("process_cpu_seconds_total", "canary"), -5, 10, func(m float64) float64 { return 100 + m*33 })
			},
			want: Go, histogram: [2]map[string]float64{healthyShares(0.01), healthyShares(0.01)},
		},
		{
			name: "slower requests are latency_delta's no_go",
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, constant(205e6))
				f.writeSeries(t, series("process_cpu_seconds_total", "canary"), -5, 10, func(m float64) float64 { return 100 + m*33 })
			},
			want: NoGo, failed: "latency_delta", histogram: [2]map[string]float64{healthyShares(0.06), healthyShares(0.01)},
		},
		{
			name: "a memory leak is promql:memory's no_go",
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, func(m float64) float64 { return 200e6 + 10e6*max(m, 0) })
				f.writeSeries(t, series("process_cpu_seconds_total", "canary"), -5, 10, func(m float64) float64 { return 100 + m*33 })
			},
			want: NoGo, failed: "promql:memory", histogram: [2]map[string]float64{healthyShares(0.01), healthyShares(0.01)},
		},
		{
			name: "restarts are promql:restarts' no_go",
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, constant(205e6))
				f.writeSeries(t, series("process_cpu_seconds_total", "canary"), -5, 10, func(m float64) float64 { return 100 + m*33 })
				f.writeSeries(t, series("kube_pod_container_status_restarts_total", "canary", "pod", "checkout-v2-def"), 3, 10, func(m float64) float64 { return m })
			},
			want: NoGo, failed: "promql:restarts", histogram: [2]map[string]float64{healthyShares(0.01), healthyShares(0.01)},
		},
		{
			name: "cpu at twice the baseline's is promql:cpu's no_go once past its failure limit",
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, constant(205e6))
				f.writeSeries(t, series("process_cpu_seconds_total", "canary"), -5, 10, func(m float64) float64 { return 100 + m*60 })
			},
			want: NoGo, failed: "promql:cpu", histogram: [2]map[string]float64{healthyShares(0.01), healthyShares(0.01)},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			healthy(t, f)
			tc.write(t, f)
			f.writeHistogram(t, latencyArm{"canary", 40, tc.histogram[0], -5, 10}, latencyArm{"baseline", 40, tc.histogram[1], -5, 10})
			e := f.engine(t, nil, t0.Add(10*time.Minute), string(policy))
			req := ask("canary")
			req.Params["pod"] = "checkout-v2"
			d, err := e.Decide(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if d.Decision != tc.want {
				t.Fatalf("decision %s, want %s: %s", d.Decision, tc.want, d.Reason)
			}
			for _, c := range d.Checks {
				want := Pass
				if c.Name == tc.failed {
					want = Fail
				}
				if c.Verdict != want {
					t.Errorf("%s = %s, want %s: %s", c.Name, c.Verdict, want, c.Sentence)
				}
			}
			if len(d.Checks) != 5 {
				t.Errorf("%d checks ran, want error_delta, latency_delta and three promql", len(d.Checks))
			}
		})
	}
}
