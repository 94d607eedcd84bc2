package metricsource

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/vmtest"
)

// engineScenario is one counter as a scrape would record it.
type engineScenario struct {
	name   string
	scrape time.Duration
	// gap leaves out the samples in [gapFrom, gapTo) (offsets from base).
	gapFrom, gapTo time.Duration
	// reset restarts the counter at this offset from base (0: none).
	reset time.Duration
}

var engineScenarios = []engineScenario{
	{name: "15s", scrape: 15 * time.Second},
	{name: "30s", scrape: 30 * time.Second},
	{name: "60s", scrape: time.Minute},
	{name: "15s gap", scrape: 15 * time.Second, gapFrom: 30 * time.Minute, gapTo: 33*time.Minute + 30*time.Second},
	{name: "15s reset", scrape: 15 * time.Second, reset: 31*time.Minute + 45*time.Second},
}

const engineSpan = 90 * time.Minute

// engineSamples records s from base: increments that vary scrape to scrape
// (so extrapolation shows), a restart to 0 at s.reset, nothing in the gap.
func engineSamples(s engineScenario, base time.Time) []Sample {
	ls := map[string]string{"__name__": "requests_total", "scenario": s.name}
	var (
		out []Sample
		v   float64
	)
	for i, off := 0, time.Duration(0); off <= engineSpan; i, off = i+1, off+s.scrape {
		v += float64(5 + (i*7)%13)
		if s.reset != 0 && off == s.reset {
			v = 3
		}
		if off >= s.gapFrom && off < s.gapTo {
			continue
		}
		out = append(out, Sample{Labels: ls, T: base.Add(off), V: v})
	}
	return out
}

// increase is the counter difference over (from, to]: the increase
// between the last samples at or before each end, a drop counted as a
// restart from 0.
func increase(samples []Sample, from, to time.Time) float64 {
	var sum float64
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if b.T.After(to) || !b.T.After(from) {
			continue
		}
		if b.V >= a.V {
			sum += b.V - a.V
		} else {
			sum += b.V
		}
	}
	return sum
}

// TestEnginesPerMinuteCounts runs the gate's per-minute query (an SLI of
// sum(rate(x[{{.window}}])) at a 1m window, times 60, as a range query of
// step 1m over the stage) on Prometheus 2.x (Debian), VictoriaMetrics and
// the embedded engine (Prometheus 3.x), over the same data, for stages
// starting on and off the minute, 15/30/60 s scrapes, a gap and a counter
// reset, and compares each minute with the counter difference.
//
// What holds, and is asserted (docs/performance.md has the measured table):
//   - every point comes back at the time asked, on every engine
//     (VictoriaMetrics' response cache would move them without nocache=1;
//     QueryRange refuses points off the grid);
//   - VictoriaMetrics' counts equal the counter differences exactly with
//     15 and 30 s scrapes, a reset included, whatever the stage start: its
//     rate() takes the last sample before the window. With 60 s scrapes it
//     widens the window and smooths (the total stays within 0.5%);
//   - Prometheus 2.x (closed window) is exact when the stage starts on a
//     scrape-aligned minute; off it, and always on 3.x (left-open window),
//     it extrapolates from the samples inside the window: a minute can be
//     tens of percent off, the stage total a few percent. With 60 s scrapes
//     a 1m window holds one sample off the minute (always on 3.x): no point
//     at all, which the gate reads as missing data, never as a go;
//   - across a gap no engine can know when the counts happened; the
//     totals stay within 7% here. Those rows are measured, not asserted.
func TestEnginesPerMinuteCounts(t *testing.T) {
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var (
		all      []Sample
		bySeries = map[string][]Sample{}
	)
	for _, s := range engineScenarios {
		ss := engineSamples(s, base)
		bySeries[s.name] = ss
		all = append(all, ss...)
	}
	series := toSeriesBy(all, "scenario")

	ctx := context.Background()
	engines := []struct {
		name string
		src  Source
	}{}
	prom := promtest.Start(t, series)
	vm := vmtest.Start(t, series)
	for _, e := range []struct{ name, url string }{{"prometheus-2", prom.URL}, {"victoriametrics", vm.URL}} {
		h, err := NewHTTP(HTTPConfig{URL: e.url, Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		engines = append(engines, struct {
			name string
			src  Source
		}{e.name, h})
	}
	emb := newEmbedded(t, "")
	if err := emb.Append(ctx, all); err != nil {
		t.Fatal(err)
	}
	engines = append(engines, struct {
		name string
		src  Source
	}{"embedded-3", emb})

	const minutes = 60 // ≥ 50 points: VictoriaMetrics' cache would align the range
	var table strings.Builder
	fmt.Fprintf(&table, "%-16s %-10s %-7s %8s %8s %8s\n", "engine", "scenario", "start", "worst/m", "total", "empty")
	for _, sc := range engineScenarios {
		for _, offset := range []time.Duration{0, 7 * time.Second, 37 * time.Second} {
			start := base.Add(10*time.Minute + offset)
			first, last := start.Add(time.Minute), start.Add(minutes*time.Minute)
			query := fmt.Sprintf(`sum(rate(requests_total{scenario=%q}[1m])) * 60`, sc.name)
			for _, e := range engines {
				mat, err := e.src.QueryRange(ctx, query, first, last, time.Minute)
				if err != nil {
					t.Fatalf("%s %s +%s: %v", e.name, sc.name, offset, err)
				}
				got := map[int64]float64{}
				for _, s := range mat {
					for _, p := range s.Values {
						got[int64(p.Timestamp)] = float64(p.Value)
					}
				}
				var worst, sumGot, sumWant float64
				empty := 0
				for m := 1; m <= minutes; m++ {
					end := start.Add(time.Duration(m) * time.Minute)
					want := increase(bySeries[sc.name], end.Add(-time.Minute), end)
					sumWant += want
					v, ok := got[end.UnixMilli()]
					if !ok {
						empty++
						continue
					}
					sumGot += v
					if want > 0 {
						worst = math.Max(worst, math.Abs(v-want)/want)
					}
					exact := sc.gapTo == 0 && sc.scrape <= 30*time.Second &&
						(e.name == "victoriametrics" || e.name == "prometheus-2" && offset == 0)
					if exact && math.Abs(v-want) > 1e-9*math.Max(1, want) {
						t.Errorf("%s %s start +%s minute %d: %v, want the counter difference %v", e.name, sc.name, offset, m, v, want)
					}
				}
				total := math.Abs(sumGot-sumWant) / sumWant
				fmt.Fprintf(&table, "%-16s %-10s +%-6s %7.1f%% %7.2f%% %8d\n", e.name, sc.name, offset, 100*worst, 100*total, empty)
				switch {
				case sc.gapTo != 0:
					// measured only
				case sc.scrape == time.Minute && (e.name == "embedded-3" || e.name == "prometheus-2" && offset != 0):
					if empty != minutes {
						t.Errorf("%s %s start +%s: %d of %d minutes empty, want all (one sample per 1m window)", e.name, sc.name, offset, empty, minutes)
					}
				case empty > 0:
					t.Errorf("%s %s start +%s: %d empty minutes", e.name, sc.name, offset, empty)
				case total > 0.025:
					t.Errorf("%s %s start +%s: stage total %.2f%% off the counter difference, want ≤ 2.5%%", e.name, sc.name, offset, 100*total)
				}
			}
		}
	}
	t.Logf("per-minute counts against counter differences (worst minute, stage total, minutes without a point):\n%s", table.String())
}

// toSeriesBy groups samples into promtest series by their metric name and
// the label key.
func toSeriesBy(samples []Sample, key string) []promtest.Series {
	var out []promtest.Series
	index := map[string]int{}
	for _, s := range samples {
		id := s.Labels["__name__"] + "/" + s.Labels[key]
		i, ok := index[id]
		if !ok {
			labels := map[string]string{}
			for k, v := range s.Labels {
				if k != "__name__" {
					labels[k] = v
				}
			}
			i = len(out)
			index[id] = i
			out = append(out, promtest.Series{Name: s.Labels["__name__"], Labels: labels})
		}
		out[i].Samples = append(out[i].Samples, promtest.Point{T: s.T, V: s.V})
	}
	return out
}
