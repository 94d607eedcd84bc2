package server

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/net/html"

	"github.com/patchgate/patchgate/gate/stats"
)

// fakeSeries answers the four error_delta queries of the fixture with
// per-minute counts: the canary at 3% errors, the baseline at 0.3%.
type fakeSeries struct {
	err     error
	empty   bool
	queries []string
}

func (f *fakeSeries) QueryRange(_ context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	f.queries = append(f.queries, q)
	if f.err != nil {
		return nil, f.err
	}
	if f.empty {
		return model.Matrix{}, nil
	}
	canary, errs := strings.Contains(q, `track="canary"`), strings.Contains(q, `code=~"5.."`)
	v := map[[2]bool]float64{{true, false}: 3500, {true, true}: 105, {false, false}: 68000, {false, true}: 204}[[2]bool{canary, errs}]
	var ps []model.SamplePair
	for t := start; !t.After(end); t = t.Add(step) {
		ps = append(ps, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: model.SampleValue(v)})
	}
	return model.Matrix{{Metric: model.Metric{}, Values: ps}}, nil
}

func TestUIDecisionChart(t *testing.T) {
	src := &fakeSeries{}
	s := newUIServer(t, func(c *Config) { c.UI.Series = src })
	rec := do(t, s.Handler(), http.MethodGet, "/ui/decisions/"+decKernelNoGo, ciToken, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	doc := parsePage(t, rec)
	if len(src.queries) != 4 || !strings.Contains(src.queries[1], `code=~"5.."`) {
		t.Errorf("queries run %q, want the check's four", src.queries)
	}
	rates, stat := byIDNode(doc, "chart-rates"), byIDNode(doc, "chart-statistic")
	if rates == nil || stat == nil {
		t.Fatalf("charts missing: %s", nodeText(byIDNode(doc, "chart-none")))
	}
	series := func(n *html.Node) []*html.Node {
		return findAll(n, func(n *html.Node) bool { return n.Data == "polyline" })
	}
	if got := len(series(rates)); got != 2 {
		t.Errorf("%d lines in the rates chart, want canary and baseline", got)
	}
	// The statistic, the no_go boundary and the go boundary.
	if got := len(series(stat)); got != 3 {
		t.Errorf("%d lines in the statistic chart, want 3", got)
	}
	for _, want := range []string{"canary", "baseline", "Z(δ)", "no_go boundary", "go boundary"} {
		if !strings.Contains(nodeText(rates)+nodeText(stat), want) {
			t.Errorf("chart legend lacks %q", want)
		}
	}
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "script" })) > 0 {
		t.Error("the chart brought a script")
	}
}

// The statistic is recomputed look by look as the gate computes it: with
// a canary at 3% errors against 0.3% it is above the no_go boundary once
// the test has enough data, and the boundaries are the Pocock ones.
func TestLookByLook(t *testing.T) {
	ms := make([]stats.Minute, 6)
	for i := range ms {
		ms[i] = stats.Minute{CanaryTotal: 3500, CanaryErrors: 105, BaselineTotal: 68000, BaselineErrors: 204}
	}
	details := map[string]float64{"margin": 0.005, "alpha": 0.05, "looks": 30}
	z, up, down, label := lookByLook(details, ms)
	want := stats.Test{Margin: 0.005, Alpha: 0.05, Looks: 30}.Evaluate(ms, 6)
	if label != "Z(δ)" || z[5] != want.Z || up[5] != want.NoGoBound || down[5] != -want.GoBound {
		t.Errorf("look 6: %s %v against %v/%v, want %v against %v/%v", label, z[5], up[5], down[5], want.Z, want.NoGoBound, -want.GoBound)
	}
	if !(z[5] > up[5]) {
		t.Errorf("Z %v not above the no_go boundary %v for 3%% against 0.3%%", z[5], up[5])
	}
	if !math.IsNaN(z[0]) {
		t.Errorf("look 1 has a statistic (%v) although the test needs 3 minutes", z[0])
	}
	_, _, down, label = lookByLook(map[string]float64{"margin": 0.005, "alpha": 0.05}, ms)
	if label != "ln M(no_go)" || !math.IsNaN(down[5]) {
		t.Errorf("confidence sequence: %s, go line %v", label, down[5])
	}
}

func TestUIDecisionChartNoData(t *testing.T) {
	for name, series := range map[string]RangeQuerier{
		"no source":       nil,
		"source fails":    &fakeSeries{err: errors.New("connection refused to prometheus.internal:9090")},
		"no data in span": &fakeSeries{empty: true},
	} {
		t.Run(name, func(t *testing.T) {
			s := newUIServer(t, func(c *Config) { c.UI.Series = series })
			rec := do(t, s.Handler(), http.MethodGet, "/ui/decisions/"+decKernelNoGo, ciToken, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: a chart without data failed the page", rec.Code)
			}
			doc := parsePage(t, rec)
			if got := nodeText(byIDNode(doc, "chart-none")); !strings.HasPrefix(got, "no data") {
				t.Errorf("chart placeholder %q", got)
			}
			if strings.Contains(rec.Body.String(), "prometheus.internal") {
				t.Error("the source's error reached the page")
			}
		})
	}
}
