package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
)

// sink collects appended samples.
type sink struct{ samples []metricsource.Sample }

func (s *sink) Append(_ context.Context, samples []metricsource.Sample) error {
	s.samples = append(s.samples, samples...)
	return nil
}

var start = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func newFleet(t *testing.T) *Fleet {
	t.Helper()
	f, err := New(Config{
		Clusters: []string{"a", "b"},
		Services: []ServiceSpec{{Name: "web", HostsPerCluster: 10, RequestsPerSecond: 1000, ErrorRate: 0.01}},
		Seed:     1,
	}, start)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFleetCountsTrafficAndErrors(t *testing.T) {
	f := newFleet(t)
	if err := f.SetRollout("web", "p-1", 0.25, 0.05); err != nil {
		t.Fatal(err)
	}
	var s sink
	if err := f.Run(context.Background(), &s, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if !f.Now().Equal(start.Add(10 * time.Minute)) {
		t.Fatalf("clock at %s, want 10 minutes later", f.Now())
	}
	// The last sample of each series is its counter's final value.
	type series struct{ instance, code, track string }
	last := map[series]float64{}
	for _, smp := range s.samples {
		last[series{smp.Labels["instance"], smp.Labels["code"], smp.Labels["track"]}] = smp.V
	}
	reqs, errs := map[string]float64{}, map[string]float64{}
	for k, v := range last {
		reqs[k.track] += v
		if k.code == "500" {
			errs[k.track] += v
		}
	}
	total := reqs["canary"] + reqs["baseline"]
	if math.Abs(total-600_000) > 600_000*0.02 {
		t.Errorf("%.0f requests in 10 minutes at 1,000/s, want about 600,000", total)
	}
	// ceil(25% of 10) = 3 hosts per cluster on the patch: 30% of traffic.
	if share := reqs["canary"] / total; math.Abs(share-0.3) > 0.02 {
		t.Errorf("canary share %.3f, want 0.3", share)
	}
	if p := errs["canary"] / reqs["canary"]; math.Abs(p-0.05) > 0.005 {
		t.Errorf("canary error ratio %.4f, want 0.05", p)
	}
	if p := errs["baseline"] / reqs["baseline"]; math.Abs(p-0.01) > 0.002 {
		t.Errorf("baseline error ratio %.4f, want 0.01", p)
	}
}

func TestRolloutsFollowTheGate(t *testing.T) {
	stages := []Stage{{"canary", 0.1}, {"half", 0.5}, {"all", 1}}
	cases := []struct {
		name    string
		answers []string
		want    string
		patched int
	}{
		{"go all the way", []string{"wait", "go", "go", "go"}, "finished", 20},
		{"no_go at the canary", []string{"wait", "no_go"}, "rolled back at canary", 0},
		{"no_go at half", []string{"go", "wait", "no_go"}, "rolled back at half", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFleet(t)
			r, err := NewRollouts(context.Background(), f, Plan{Service: "web", Patch: "p-1", ErrorRate: 0.01, Stages: stages})
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			ask := func(context.Context, string, string, string, time.Time) (Answer, error) {
				a := Answer{Verdict: tc.answers[i]}
				i++
				return a, nil
			}
			for !r.Done() {
				if i == len(tc.answers) {
					t.Fatalf("still running after %d answers: %v", i, r.Outcomes())
				}
				if _, err := r.Tick(context.Background(), f, ask); err != nil {
					t.Fatal(err)
				}
			}
			if got := r.Outcomes()["web"]; got != tc.want {
				t.Fatalf("outcome %q, want %q", got, tc.want)
			}
			if p, _ := f.Patched("web"); p != tc.patched {
				t.Fatalf("%d hosts patched, want %d", p, tc.patched)
			}
		})
	}
}

// TestFleetLatencyHistogram: a service with a latency writes cumulative
// buckets whose shares follow its distribution, and a patch's p99 moves
// its canary's tail.
func TestFleetLatencyHistogram(t *testing.T) {
	f, err := New(Config{
		Clusters: []string{"a"},
		Services: []ServiceSpec{{Name: "web", HostsPerCluster: 10, RequestsPerSecond: 2000, ErrorRate: 0.001,
			Latency: &Latency{Median: 0.08, P99: 0.2}}},
		Seed: 1,
	}, start)
	if err != nil {
		t.Fatal(err)
	}
	f.SetPatchLatency("p-slow", 0.6)
	if err := f.SetRollout("web", "p-slow", 0.5, 0.001); err != nil {
		t.Fatal(err)
	}
	var s sink
	if err := f.Run(context.Background(), &s, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	type key struct{ instance, le string }
	last := map[key]float64{}
	track := map[string]string{}
	for _, smp := range s.samples {
		if smp.Labels["__name__"] == "http_request_duration_seconds_bucket" {
			last[key{smp.Labels["instance"], smp.Labels["le"]}] = smp.V
			track[smp.Labels["instance"]] = smp.Labels["track"]
		}
	}
	slow := map[string]float64{} // share above 0.3s per track
	total := map[string]float64{}
	for k, v := range last {
		switch k.le {
		case "+Inf":
			total[track[k.instance]] += v
			slow[track[k.instance]] += v
		case "0.3":
			slow[track[k.instance]] -= v
		}
		if k.le != "+Inf" && v > last[key{k.instance, "+Inf"}] {
			t.Errorf("%s: bucket le=%s counts %v, more than +Inf", k.instance, k.le, v)
		}
	}
	// Log-normal shares above 0.3s: baseline (p99 0.2s) 0.04%, canary (p99 0.6s) 6.3%.
	for tr, want := range map[string]float64{"baseline": 0.0004, "canary": 0.063} {
		got := slow[tr] / total[tr]
		if math.Abs(got-want) > 0.2*want+0.0005 {
			t.Errorf("%s: share above 0.3s = %.4f, want about %.4f", tr, got, want)
		}
	}
}
