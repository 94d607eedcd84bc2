package backtest

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/testbed"
	"github.com/patchgate/patchgate/internal/vmtest"
)

// seriesOf groups samples into promtest series.
func seriesOf(samples []metricsource.Sample) []promtest.Series {
	byKey := map[string]*promtest.Series{}
	for _, s := range samples {
		labels := maps.Clone(s.Labels)
		name := labels["__name__"]
		delete(labels, "__name__")
		key := fmt.Sprint(name, labels)
		if byKey[key] == nil {
			byKey[key] = &promtest.Series{Name: name, Labels: labels}
		}
		byKey[key].Samples = append(byKey[key].Samples, promtest.Point{T: s.T, V: s.V})
	}
	out := make([]promtest.Series, 0, len(byKey))
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, *byKey[k])
	}
	return out
}

// TestEnginesAgree replays the same 160 stages against Prometheus (Debian's
// 2.42) and VictoriaMetrics holding the same data: healthy, regressing,
// near-the-margin and quiet canaries, every stage starting on a scrape-
// aligned minute. The gate must give the same verdict at the same minute
// on both engines: `source.type: prometheus` works unchanged on either.
func TestEnginesAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two query engines")
	}
	rng := rand.New(rand.NewPCG(17, 160))
	from, to := t0.Add(-10*time.Minute), t0.Add(10*time.Hour)
	tracks := []struct {
		name    string
		rps, p  float64
		expects string
	}{
		{"healthy", 100, 0.005, "go"}, {"regressing", 100, 0.03, "no_go"}, {"near", 60, 0.0085, ""}, {"quiet", 2, 0.005, ""},
	}
	traffic := []testbed.Traffic{{Service: "checkout", Track: "baseline", RPS: 1900, ErrorRatio: 0.005, From: from, To: to}}
	for _, tr := range tracks {
		traffic = append(traffic, testbed.Traffic{Service: "checkout", Track: tr.name, RPS: tr.rps, ErrorRatio: tr.p, From: from, To: to})
	}
	series := seriesOf(testbed.Requests(traffic...))
	prom := promtest.Start(t, series)
	vm := vmtest.Start(t, series)
	var stages []Stage
	for i := range 160 {
		tr := tracks[i%len(tracks)]
		start := t0.Add(time.Duration(rng.IntN(9*60)) * time.Minute) // on the minute: scrape-aligned
		stages = append(stages, Stage{Service: "checkout", PatchID: fmt.Sprintf("p-%d", i), Stage: "canary", StartedAt: start,
			Params: map[string]string{"track": tr.name}})
	}
	policy := parsePolicy(t, strings.Replace(Policy, "type: embedded", "type: prometheus, url: \"http://each-engine\"", 1))
	verdicts := map[string][]Verdict{}
	for name, url := range map[string]string{"prometheus": prom.URL, "victoria-metrics": vm.URL} {
		src, err := metricsource.NewHTTP(metricsource.HTTPConfig{URL: url, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		got, errs := Run(context.Background(), Config{Policy: policy, Source: src}, stages)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s, stage %d: %v", name, i, err)
			}
		}
		verdicts[name] = got
	}
	agree := 0
	for i, s := range stages {
		p, v := verdicts["prometheus"][i], verdicts["victoria-metrics"][i]
		// The engines sum floating-point rates in different orders: counts
		// agree to about 1e-12, not to the last bit.
		if p.Decision != v.Decision || p.Minute != v.Minute || math.Abs(p.CanaryRequests-v.CanaryRequests) > 1e-9*max(p.CanaryRequests, 1) {
			t.Errorf("%s from %s (%s): Prometheus %s at minute %d on %g canary requests, VictoriaMetrics %s at minute %d on %g",
				s.PatchID, s.StartedAt.Format("15:04"), s.Params["track"], p.Decision, p.Minute, p.CanaryRequests, v.Decision, v.Minute, v.CanaryRequests)
			continue
		}
		agree++
		if want := tracks[i%len(tracks)].expects; want != "" && string(p.Decision) != want {
			t.Errorf("%s (%s): %s on both engines, want %s", s.PatchID, s.Params["track"], p.Decision, want)
		}
	}
	t.Logf("%d of %d stages: the same verdict, minute and canary count on both engines", agree, len(stages))
}
