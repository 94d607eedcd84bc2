package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

//go:embed templates/report.html.tmpl
var templates embed.FS

var htmlTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"time":     formatTime,
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"pct":      formatPercent,
	"dur":      formatDuration,
	"num":      formatCount,
	"fixed1":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"ptr":      func(v float64) *float64 { return &v },
	"join":     func(s []string) string { return strings.Join(s, ", ") },
	"leadname": leadTimeName,
	"status":   statusBadge,
	"source":   sourceName,
	"list":     func(s ...Share) []Share { return s },
	"labelof":  func(s Share, label string) string { return s.key(label) },
	// svg marks a chart drawn by vgsvg as safe: its text went through
	// html.EscapeString and the rest is numbers and colours.
	"svg": func(s string) template.HTML { return template.HTML(s) }, //nolint:gosec // see above
	"shares": func(title, label string, rows []Share, good, total string, target float64) map[string]any {
		return map[string]any{"Title": title, "Label": label, "LabelName": capitalize(label), "Rows": rows,
			"GoodName": capitalize(good), "TotalName": capitalize(total), "Target": target}
	},
	"counts": func(title string, c Counts) map[string]any {
		return map[string]any{"Title": title, "Counts": c}
	},
}).ParseFS(templates, "templates/report.html.tmpl"))

// htmlPage is what the template renders: the report and its charts.
type htmlPage struct {
	*Report
	Charts []chart
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS,
// charts as inline SVG, no script, nothing fetched from anywhere.
func WriteHTML(w io.Writer, r *Report) error {
	page := htmlPage{Report: r}
	step, err := model.ParseDuration(r.Period.Step)
	if err != nil {
		return fmt.Errorf("report period step %q: %w", r.Period.Step, err)
	}
	for _, t := range r.Trends {
		c, err := drawChart(t, r.Period.Start, r.Period.End, time.Duration(step))
		if err != nil {
			return err
		}
		page.Charts = append(page.Charts, c)
	}
	var buf bytes.Buffer
	if err := htmlTemplate.Execute(&buf, page); err != nil {
		return fmt.Errorf("rendering the HTML report: %w", err)
	}
	_, err = buf.WriteTo(w)
	return err
}

// statusBadge is a status as a coloured label.
func statusBadge(s Status) template.HTML {
	text := strings.ReplaceAll(string(s), "_", " ")
	return template.HTML(`<span class="status ` + template.HTMLEscapeString(string(s)) + `">` +
		template.HTMLEscapeString(text) + `</span>`) //nolint:gosec // both parts escaped
}

// sourceName says where a ratio came from.
func sourceName(source string) string {
	if source == "recorded" {
		return "the recording rule's series"
	}
	return "computed from the input series (the recording rule's series are absent) with"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
