package server

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/gate/stats"
)

// RangeQuerier runs a PromQL range query (metricsource.Source does).
type RangeQuerier interface {
	QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error)
}

// chartTimeout bounds the queries of a decision page's chart: the page
// never waits long for it, and shows "no data" instead.
const chartTimeout = 5 * time.Second

// decisionChart is the chart of the decision page: each arm's error rate
// minute by minute over the stage window, and the test statistic look by
// look against its boundaries. The data are the decision's own: its
// error_delta check's four recorded queries (canary requests, canary
// errors, baseline requests, baseline errors per minute), run again over
// its window, and the statistic recomputed from them by gate/stats with
// the check's margin, α and looks (from its details), as the gate does.
// The source answers what it holds now: after its retention, or with late
// samples, the chart may differ from the recorded numbers, which stay the
// decision's. Anything missing draws "no data"; the page never fails for it.
type decisionChart struct {
	Rates, Statistic template.HTML
	// NoData says why there is no chart, "" when there is one.
	NoData string
}

func (s *Server) chartFor(ctx context.Context, d gate.Decision) decisionChart {
	var check *gate.CheckResult
	for i := range d.Checks {
		if d.Checks[i].Name == "error_delta" {
			check = &d.Checks[i]
		}
	}
	switch {
	case s.ui.Series == nil:
		return decisionChart{NoData: "no data: this server has no metric source to draw from"}
	case check == nil || len(check.Queries) != 4:
		return decisionChart{NoData: "no data: the decision has no error_delta check with its four queries"}
	case d.Window.Start.IsZero() || !d.Window.End.After(d.Window.Start):
		return decisionChart{NoData: "no data: the decision has no evaluation window"}
	}
	minutes := int(d.Window.End.Sub(d.Window.Start) / time.Minute)
	if minutes < 1 {
		return decisionChart{NoData: "no data: the window is shorter than a minute"}
	}
	minutes = min(minutes, 24*60)
	ctx, cancel := context.WithTimeout(ctx, chartTimeout)
	defer cancel()
	first, last := d.Window.Start.Add(time.Minute), d.Window.Start.Add(time.Duration(minutes)*time.Minute)
	series := make([][]float64, 4)
	for i, q := range check.Queries {
		m, err := s.ui.Series.QueryRange(ctx, q, first, last, time.Minute)
		if err != nil {
			s.logger.WarnContext(ctx, "decision chart: query failed", "decision_id", d.ID, "err", err)
			return decisionChart{NoData: "no data: the metric source did not answer the decision's queries"}
		}
		series[i] = perMinute(m, first, minutes)
	}
	ms := make([]stats.Minute, minutes)
	canary, baseline := make([]float64, minutes), make([]float64, minutes)
	seen := false
	for k := range minutes {
		ms[k] = stats.Minute{CanaryTotal: series[0][k], CanaryErrors: series[1][k], BaselineTotal: series[2][k], BaselineErrors: series[3][k]}
		canary[k], baseline[k] = ratio(series[1][k], series[0][k]), ratio(series[3][k], series[2][k])
		seen = seen || !math.IsNaN(canary[k]) || !math.IsNaN(baseline[k])
	}
	if !seen {
		return decisionChart{NoData: "no data: the metric source holds no requests for this window"}
	}
	z, up, down, label := lookByLook(check.Details, ms)
	return decisionChart{
		Rates: svgChart("chart-rates", "Error rate per minute (%)", first, []line{
			{"canary", "#c0392b", scale(canary, 100), false}, {"baseline", "#1f5fa8", scale(baseline, 100), false}}),
		Statistic: svgChart("chart-statistic", "Test statistic look by look", first, []line{
			{label, "#1a1a1a", z, false}, {"no_go boundary", "#c0392b", up, true}, {"go boundary (−)", "#2e7d32", down, true}}),
	}
}

// lookByLook recomputes the check's statistic at each look on the
// minutes up to it, with the margin, α and looks of its details, and the
// boundaries it is held against (NaN where the test had too little data).
func lookByLook(details map[string]float64, ms []stats.Minute) (z, up, down []float64, label string) {
	test := stats.Test{Margin: details["margin"], Alpha: details["alpha"], Looks: int(details["looks"])}
	n := len(ms)
	z, up, down = make([]float64, n), make([]float64, n), make([]float64, n)
	label = "Z(δ)"
	for k := 1; k <= n; k++ {
		r := test.Evaluate(ms[:k], k)
		if test.Looks == 0 {
			label = "ln M(no_go)"
			z[k-1], up[k-1], down[k-1] = r.LnMNoGo, r.Bound, math.NaN()
		} else {
			z[k-1], up[k-1], down[k-1] = r.Z, r.NoGoBound, -r.GoBound
		}
		if r.Outcome == stats.NotEnoughData {
			z[k-1] = math.NaN()
		}
	}
	return z, up, down, label
}

// perMinute lays the first series of m on the minutes after first; a
// minute without a sample is NaN.
func perMinute(m model.Matrix, first time.Time, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	if len(m) == 0 {
		return out
	}
	for _, p := range m[0].Values {
		k := int(p.Timestamp.Time().Sub(first) / time.Minute)
		if k >= 0 && k < n {
			out[k] = float64(p.Value)
		}
	}
	return out
}

func ratio(a, b float64) float64 {
	if !(b > 0) || math.IsNaN(a) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return math.NaN()
	}
	return a / b
}

func scale(v []float64, f float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * f
	}
	return out
}

type line struct {
	name   string
	color  string
	values []float64
	dashed bool
}

// Chart geometry, in SVG user units.
const (
	chartW, chartH         = 560.0, 220.0
	padL, padR, padT, padB = 52.0, 22.0, 28.0, 46.0
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	chartTicks             = 4
	chartFont              = `font-family="Liberation Sans, Arial, sans-serif" font-size="11"`
	chartAxis              = "#9aa5b1"
	// chartTimeLabels is about how many times of day the x axis shows.
	chartTimeLabels = 6
)

// svgChart draws lines over minutes 1..n after first: hand-written SVG
// with nothing but numbers and fixed labels in it (no script).
func svgChart(id, title string, first time.Time, lines []line) template.HTML {
	n := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range lines {
		n = max(n, len(l.values))
		for _, v := range l.values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" role="img" aria-label="%s" viewBox="0 0 %g %g" width="%g" height="%g" xmlns="http://www.w3.org/2000/svg">`,
		id, title, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%g" y="16" %s font-weight="bold">%s</text>`, padL, chartFont, title)
	if math.IsInf(lo, 0) {
		fmt.Fprintf(&b, `<text x="%g" y="%g" %s text-anchor="middle">no data</text></svg>`, chartW/2, chartH/2, chartFont)
		return template.HTML(b.String())
	}
	if lo > 0 {
		lo = 0
	}
	if hi <= lo {
		hi = lo + 1
	}
	hi += (hi - lo) * 0.05
	x := func(i int) float64 {
		if n <= 1 {
			return padL + plotW/2
		}
		return padL + plotW*float64(i)/float64(n-1)
	}
	y := func(v float64) float64 { return padT + plotH*(1-(v-lo)/(hi-lo)) }
	// Axes and horizontal grid with labels.
	for t := 0; t <= chartTicks; t++ {
		v := lo + (hi-lo)*float64(t)/chartTicks
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#e3e3e3"/>`, padL, y(v), padL+plotW, y(v))
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" %s text-anchor="end">%s</text>`, padL-4, y(v)+4, chartFont, axisNumber(v))
	}
	if lo < 0 && hi > 0 {
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="%s"/>`, padL, y(0), padL+plotW, y(0), chartAxis)
	}
	step := max(1, n/chartTimeLabels)
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" %s text-anchor="middle">%s</text>`, x(i), padT+plotH+14, chartFont,
			first.Add(time.Duration(i)*time.Minute).UTC().Format("15:04"))
	}
	// Lines: a polyline per run of values, dots where a run is one point.
	for _, l := range lines {
		dash := ""
		if l.dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		var run []string
		flush := func() {
			switch {
			case len(run) == 1:
				var cx, cy float64
				fmt.Sscanf(run[0], "%g,%g", &cx, &cy)
				fmt.Fprintf(&b, `<circle class="point" cx="%g" cy="%g" r="2.5" fill="%s"/>`, cx, cy, l.color)
			case len(run) > 1:
				fmt.Fprintf(&b, `<polyline class="series" points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`, strings.Join(run, " "), l.color, dash)
			}
			run = run[:0]
		}
		for i, v := range l.values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				flush()
				continue
			}
			run = append(run, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		flush()
	}
	// Legend under the axis.
	lx := padL
	for _, l := range lines {
		dash := ""
		if l.dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"%s/>`, lx, chartH-10, lx+18, chartH-10, l.color, dash)
		fmt.Fprintf(&b, `<text x="%g" y="%g" %s>%s</text>`, lx+22, chartH-6, chartFont, template.HTMLEscapeString(l.name))
		lx += 30 + 7*float64(len([]rune(l.name)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func axisNumber(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
