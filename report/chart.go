package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart size: the SVG scales to the page width, keeping this aspect.
const (
	chartWidth  = 18 * vg.Centimeter
	chartHeight = 7 * vg.Centimeter
)

// palette colours the series in order (Okabe–Ito, readable by the colour
// blind); the series "all" is drawn in black.
var palette = []color.RGBA{
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0x00, 0x9E, 0x73, 0xFF}, // green
	{0xCC, 0x79, 0xA7, 0xFF}, // purple
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0x99, 0x99, 0x99, 0xFF}, // grey
}

var black = color.RGBA{0, 0, 0, 0xFF}

// sans is the chart font. It is not embedded: the SVG names it and the
// browser falls back to its own sans-serif, so nothing is fetched.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// chart is a drawn trend: its SVG (without XML prolog, ready to inline)
// and the legend, which the page draws in HTML.
type chart struct {
	Trend  Trend
	SVG    string
	Legend []legendEntry
}

type legendEntry struct {
	Name  string
	Color string
	// Dashed marks the target line.
	Dashed bool
}

// seriesColor is the colour of the i-th series (not counting "all")
// named name: "all" is black and a severity has its own colour in every
// chart.
func seriesColor(i int, name string) color.RGBA {
	if name == "all" {
		return black
	}
	if r, ok := severityOrder[name]; ok {
		return palette[r]
	}
	return palette[i%len(palette)]
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }

// drawChart draws t over [start, end]. A trend without points has no SVG.
func drawChart(t Trend, start, end time.Time, step time.Duration) (chart, error) {
	ch := chart{Trend: t}
	lo, hi, points := math.Inf(1), math.Inf(-1), 0
	for _, s := range t.Series {
		for _, p := range s.Points {
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
			points++
		}
	}
	if points == 0 {
		return ch, nil
	}
	p := plot.New()
	styleFonts(p)
	p.X.Min, p.X.Max = float64(start.Unix()), float64(end.Unix())
	p.X.Tick.Marker = timeTicks{span: end.Sub(start)}
	p.Y.Label.Text = t.Unit
	p.Y.Min, p.Y.Max = yRange(t, lo, hi)
	p.Y.Tick.Marker = plainTicks{}
	p.Add(plotter.NewGrid())

	i := 0
	for _, s := range t.Series {
		c := seriesColor(i, s.Name)
		if s.Name != "all" {
			i++
		}
		for _, seg := range segments(s.Points, step) {
			xys := make(plotter.XYs, len(seg))
			for j, pt := range seg {
				xys[j] = plotter.XY{X: float64(pt.T.Unix()), Y: pt.V}
			}
			if len(xys) == 1 {
				sc, err := plotter.NewScatter(xys)
				if err != nil {
					return ch, fmt.Errorf("chart %s, series %q: %w", t.ID, s.Name, err)
				}
				sc.GlyphStyle.Color = c
				sc.GlyphStyle.Radius = vg.Points(2)
				p.Add(sc)
				continue
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return ch, fmt.Errorf("chart %s, series %q: %w", t.ID, s.Name, err)
			}
			l.LineStyle.Color = c
			l.LineStyle.Width = vg.Points(1.5)
			if s.Name == "all" {
				l.LineStyle.Width = vg.Points(2.5)
			}
			p.Add(l)
		}
		ch.Legend = append(ch.Legend, legendEntry{Name: s.Name, Color: hexColor(c)})
	}
	if t.Target != nil {
		target := *t.Target
		f := plotter.NewFunction(func(float64) float64 { return target })
		f.Samples = 2
		f.LineStyle.Color = color.RGBA{0x55, 0x55, 0x55, 0xFF}
		f.LineStyle.Width = vg.Points(1)
		f.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(f)
		ch.Legend = append(ch.Legend, legendEntry{Name: fmt.Sprintf("target %s", formatValue(target, t.Unit)), Color: "#555555", Dashed: true})
	}

	c := vgsvg.New(chartWidth, chartHeight)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return ch, fmt.Errorf("chart %s: %w", t.ID, err)
	}
	svg, err := inlineSVG(buf.String(), t.Title)
	if err != nil {
		return ch, fmt.Errorf("chart %s: %w", t.ID, err)
	}
	ch.SVG = svg
	return ch, nil
}

// styleFonts sets every text of p in the sans-serif font.
func styleFonts(p *plot.Plot) {
	p.Title.TextStyle.Font = font.From(sans, 12)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
	}
	p.Legend.TextStyle.Font = font.From(sans, 9)
}

// yRange fits the values and the target: percentages end at 100 and start
// at a round number below the data; other units start at zero.
func yRange(t Trend, lo, hi float64) (float64, float64) {
	if t.Target != nil {
		lo, hi = math.Min(lo, *t.Target), math.Max(hi, *t.Target)
	}
	if t.Unit == "%" {
		min := math.Max(0, math.Floor((lo-5)/10)*10)
		return min, 100
	}
	return 0, math.Max(hi*1.15, 1)
}

// segments splits points where a step or more is missing, so a gap in
// the data is a gap in the line.
func segments(ps []Point, step time.Duration) [][]Point {
	var out [][]Point
	startAt := 0
	for i := 1; i <= len(ps); i++ {
		if i == len(ps) || ps[i].T.Sub(ps[i-1].T) > step*3/2 {
			out = append(out, ps[startAt:i])
			startAt = i
		}
	}
	return out
}

// inlineSVG makes vgsvg's document fit in an HTML page: no XML prolog or
// comment, width following the page, an accessible name.
func inlineSVG(doc, title string) (string, error) {
	i := strings.Index(doc, "<svg ")
	j := strings.Index(doc, "viewBox=")
	if i < 0 || j < i {
		return "", fmt.Errorf("unexpected SVG from vgsvg: %.80q", doc)
	}
	var b strings.Builder
	b.WriteString(`<svg class="chart" role="img" aria-label="`)
	b.WriteString(escapeAttr(title))
	b.WriteString(`" width="100%" `)
	b.WriteString(doc[j:])
	return strings.TrimSpace(b.String()), nil
}

func escapeAttr(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `<`, "&lt;", `>`, "&gt;", `"`, "&#34;", `'`, "&#39;").Replace(s)
}

// plainTicks are gonum's default ticks labelled without trailing zeros
// ("75", not "75.00").
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'g', 6, 64)
		}
	}
	return ticks
}

// timeTicks places ticks on whole days (or hours, for short periods) in UTC.
type timeTicks struct{ span time.Duration }

func (tt timeTicks) Ticks(min, max float64) []plot.Tick {
	unit, format := 24*time.Hour, "Jan 2"
	if tt.span < 2*24*time.Hour {
		unit, format = time.Hour, "15:04"
	}
	every := unit
	for _, n := range []int{1, 2, 3, 6, 7, 14, 30, 60, 90} {
		every = time.Duration(n) * unit
		if tt.span/every <= 8 {
			break
		}
	}
	start := time.Unix(int64(min), 0).UTC().Truncate(every)
	var ticks []plot.Tick
	for t := start; float64(t.Unix()) <= max; t = t.Add(every) {
		if float64(t.Unix()) < min {
			continue
		}
		ticks = append(ticks, plot.Tick{Value: float64(t.Unix()), Label: t.Format(format)})
	}
	return ticks
}
