package gate

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
)

// writeSeries writes one series every 15 seconds from `from` to `to`
// minutes after t0, its value at each sample given by v(minutes after t0).
func (f *fixture) writeSeries(t testing.TB, lbls map[string]string, from, to int, v func(m float64) float64) {
	t.Helper()
	if err := f.src.Append(context.Background(), seriesSamples(lbls, from, to, v)); err != nil {
		t.Fatal(err)
	}
}

func seriesSamples(lbls map[string]string, from, to int, v func(m float64) float64) []metricsource.Sample {
	var samples []metricsource.Sample
	for ts := t0.Add(time.Duration(from) * time.Minute); !ts.After(t0.Add(time.Duration(to) * time.Minute)); ts = ts.Add(15 * time.Second) {
		samples = append(samples, metricsource.Sample{Labels: lbls, T: ts, V: v(ts.Sub(t0).Minutes())})
	}
	return samples
}

func promqlPolicy(checks string) string {
	return `
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
      promql:
` + checks + `
    stages:
      - {name: canary, max_wait: 20m}
`
}

func series(name, track string, extra ...string) map[string]string {
	l := map[string]string{"__name__": name, "service": "checkout", "track": track}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func constant(v float64) func(float64) float64 { return func(float64) float64 { return v } }

func TestPromQLChecks(t *testing.T) {
	const (
		memory = `        - name: memory
          query: max(container_memory_working_set_bytes{container="app"})
          compare: baseline
          below: 1.2
`
		restarts = `        - name: restarts
          query: sum(increase(kube_pod_container_status_restarts_total{pod=~"{{.params.pod}}.*"}[{{.window}}]))
          below: 1
          window: 5m
`
		cpu = `        - name: cpu
          query: sum(rate(process_cpu_seconds_total[{{.window}}]))
          compare: baseline
          by: ratio
          below: 1.5
          window: 2m
          consecutive_successes: 3
`
	)
	cases := []struct {
		name     string
		checks   string
		write    func(t *testing.T, f *fixture)
		at       int
		params   map[string]string
		check    string
		want     CheckVerdict
		missing  bool
		observed float64
		sentence []string
		query    string
	}{
		{
			name: "memory like the baseline's passes", checks: memory, check: "promql:memory", at: 10,
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, constant(210e6))
				f.writeSeries(t, series("container_memory_working_set_bytes", "baseline", "container", "app"), -5, 10, constant(200e6))
			},
			want: Pass, observed: 1.05,
			sentence: []string{"canary / baseline at 10:10 is 1.05 (canary 210,000,000, baseline 200,000,000)", "0 of 10 look(s) breached the threshold (below 1.2)"},
			query:    `max(container_memory_working_set_bytes{container="app",track="canary"})`,
		},
		{
			name: "a memory leak fails at the first breach", checks: memory, check: "promql:memory", at: 10,
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, func(m float64) float64 { return 200e6 + 10e6*m })
				f.writeSeries(t, series("container_memory_working_set_bytes", "baseline", "container", "app"), -5, 10, constant(200e6))
			},
			want: Fail, observed: 1.5,
			sentence: []string{"7 of 10 look(s) breached the threshold (below 1.2) (failure_limit 0): look 4 (10:04): 1.2, look 5 (10:05): 1.25"},
		},
		{
			name: "a pod restart loop fails; the pod comes from the request as an escaped value", checks: restarts, check: "promql:restarts", at: 6,
			params: map[string]string{"pod": "checkout-7d9.x"},
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("kube_pod_container_status_restarts_total", "canary", "pod", "checkout-7d9.x-abc"), -5, 6, func(m float64) float64 { return math.Max(0, math.Floor(m/2)) })
			},
			want:  Fail,
			query: `sum(increase(kube_pod_container_status_restarts_total{pod=~"checkout-7d9\\.x.*",track="canary"}[5m]))`,
		},
		{
			name: "no restarts passes", checks: restarts, check: "promql:restarts", at: 6,
			params: map[string]string{"pod": "checkout"},
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("kube_pod_container_status_restarts_total", "canary", "pod", "checkout-abc"), -5, 6, constant(3))
			},
			want: Pass, observed: 0,
		},
		{
			name: "a param the request lacks waits", checks: restarts, check: "promql:restarts", at: 6,
			want: Inconclusive, missing: true, sentence: []string{"needs params.pod"},
		},
		{
			name: "cpu at twice the baseline's fails", checks: cpu, check: "promql:cpu", at: 4,
			write: cpuWrite,
			want:  Fail, sentence: []string{"2 of 4 look(s) breached the threshold (below 1.5) (failure_limit 0): look 1 (10:01): 2, look 2 (10:02): 2"},
		},
		{
			name: "within the failure limit, a pass waits for three consecutive passing looks", check: "promql:cpu", at: 4,
			checks: strings.Replace(cpu, "consecutive_successes: 3", "consecutive_successes: 3\n          failure_limit: 5", 1),
			write:  cpuWrite,
			want:   Inconclusive, sentence: []string{"canary / baseline at 10:04 is 1 (canary 0.5, baseline 0.5); 2 consecutive passing look(s) of the 3 required"},
		},
		{
			name: "then passes", check: "promql:cpu", at: 6,
			checks: strings.Replace(cpu, "consecutive_successes: 3", "consecutive_successes: 3\n          failure_limit: 5", 1),
			write:  cpuWrite,
			want:   Pass, observed: 1, sentence: []string{"the latest 4 look(s) passed"},
		},
		{
			name: "empty results wait and never pass", checks: memory, check: "promql:memory", at: 10,
			want: Inconclusive, missing: true, sentence: []string{"canary: the query returned no series"},
		},
		{
			name: "NaN waits", checks: memory, check: "promql:memory", at: 10,
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, constant(math.NaN()))
				f.writeSeries(t, series("container_memory_working_set_bytes", "baseline", "container", "app"), -5, 10, constant(200e6))
			},
			want: Inconclusive, missing: true, sentence: []string{"canary: the query returned NaN"},
		},
		{
			name: "a ratio over a zero baseline waits", checks: memory, check: "promql:memory", at: 10,
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "container", "app"), -5, 10, constant(1))
				f.writeSeries(t, series("container_memory_working_set_bytes", "baseline", "container", "app"), -5, 10, constant(0))
			},
			want: Inconclusive, missing: true, sentence: []string{"the baseline is 0"},
		},
		{
			name: "several series where one is expected wait", check: "promql:memory", at: 10,
			checks: `        - name: memory
          query: container_memory_working_set_bytes
          below: 300e6
`,
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "pod", "a"), -5, 10, constant(1))
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary", "pod", "b"), -5, 10, constant(1))
			},
			want: Inconclusive, missing: true, sentence: []string{"the query returned 2 series where one is expected"},
		},
		{
			name: "breaches within the failure limit wait, then pass", check: "promql:memory", at: 10,
			checks: `        - name: memory
          query: max(container_memory_working_set_bytes)
          below: 300e6
          failure_limit: 2
`,
			write: func(t *testing.T, f *fixture) {
				f.writeSeries(t, series("container_memory_working_set_bytes", "canary"), -5, 10, func(m float64) float64 {
					if m > 2 && m <= 4 {
						return 400e6
					}
					return 200e6
				})
			},
			want: Pass, sentence: []string{"2 of 10 look(s) breached", "look 3 (10:03): 400,000,000, look 4 (10:04): 400,000,000"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.write != nil {
				tc.write(t, f)
			}
			e := f.engine(t, nil, t0.Add(time.Duration(tc.at)*time.Minute), promqlPolicy(tc.checks))
			req := ask("canary")
			for k, v := range tc.params {
				req.Params[k] = v
			}
			d, err := e.Decide(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			c := checkNamed(d, tc.check)
			if c.Verdict != tc.want || c.missingData != tc.missing {
				t.Fatalf("%s = %s (missing data %v): %s; want %s (missing data %v)", tc.check, c.Verdict, c.missingData, c.Sentence, tc.want, tc.missing)
			}
			if tc.want == Pass && d.Decision != Go || tc.want == Fail && d.Decision != NoGo || tc.want == Inconclusive && d.Decision != Wait {
				t.Errorf("decision %s for a check that says %s", d.Decision, tc.want)
			}
			if tc.observed != 0 && (c.Observed == nil || math.Abs(*c.Observed-tc.observed) > 1e-9) {
				t.Errorf("observed %v, want %v", c.Observed, tc.observed)
			}
			for _, s := range tc.sentence {
				if !strings.Contains(c.Sentence, s) {
					t.Errorf("sentence %q does not say %q", c.Sentence, s)
				}
			}
			if tc.query != "" && (len(c.Queries) == 0 || c.Queries[0] != tc.query) {
				t.Errorf("queries = %q, want first %q", c.Queries, tc.query)
			}
		})
	}
}

// cpuWrite: the canary burns twice the baseline's CPU (1 core against
// 0.5) until minute 2, then the same.
func cpuWrite(t *testing.T, f *fixture) {
	f.writeSeries(t, series("process_cpu_seconds_total", "canary"), -5, 10, func(m float64) float64 {
		if m <= 2 {
			return 100 + m*60
		}
		return 100 + 2*60 + (m-2)*30
	})
	f.writeSeries(t, series("process_cpu_seconds_total", "baseline"), -5, 10, func(m float64) float64 { return 100 + m*30 })
}

// TestPromQLParamsAreLabelValues: a request parameter cannot change the
// query's shape; it becomes one escaped label value.
func TestPromQLParamsAreLabelValues(t *testing.T) {
	f := newFixture(t)
	restarts := `        - name: restarts
          query: sum(increase(kube_pod_container_status_restarts_total{pod=~"{{.params.pod}}.*"}[{{.window}}]))
          below: 1
`
	e := f.engine(t, nil, t0.Add(3*time.Minute), promqlPolicy(restarts))
	req := ask("canary")
	req.Params["pod"] = `x"}) or vector(1) # `
	d, err := e.Decide(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	c := checkNamed(d, "promql:restarts")
	want := `sum(increase(kube_pod_container_status_restarts_total{pod=~"x\"\\}\\) or vector\\(1\\) # .*",track="canary"}[1m]))`
	if len(c.Queries) != 1 || c.Queries[0] != want {
		t.Errorf("queries = %q, want %q", c.Queries, want)
	}
	if c.Verdict == Pass {
		t.Errorf("no series passed: %s", c.Sentence)
	}
}
