package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/patchgate/patchgate/report"
	"github.com/patchgate/patchgate/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/report")

const goldenDir = "../testdata/report"

// golden compares got with the named golden file, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run go test ./report -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}

func render(t *testing.T, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Write(&buf, reporttest.Report(), format); err != nil {
		t.Fatalf("Write %s: %v", format, err)
	}
	return buf.Bytes()
}

func TestJSONGolden(t *testing.T) {
	out := render(t, "json")
	golden(t, "coverage.json", out)

	// The JSON reads back into the same report.
	var back report.Report
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if want := reporttest.Report(); !reflect.DeepEqual(&back, want) {
		t.Errorf("JSON does not read back into the report:\n got %+v\nwant %+v", back, *want)
	}
}

func TestCSVGolden(t *testing.T) {
	out := render(t, "csv")
	golden(t, "coverage.csv", out)

	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	header := rows[0]
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	find := func(section, measure string, match func([]string) bool) []string {
		for _, r := range rows[1:] {
			if r[col["section"]] == section && r[col["measure"]] == measure && match(r) {
				return r
			}
		}
		t.Fatalf("no %s/%s row", section, measure)
		return nil
	}
	anyRow := func([]string) bool { return true }
	// What a reader looks up in a spreadsheet.
	overall := find("coverage", "coverage", func(r []string) bool {
		return r[col["severity"]] == "" && r[col["cluster"]] == "" && r[col["service"]] == ""
	})
	if overall[col["value"]] != "0.95" || overall[col["target"]] != "0.95" || overall[col["status"]] != "met" {
		t.Errorf("overall coverage row %v", overall)
	}
	critical := find("coverage", "coverage", func(r []string) bool { return r[col["severity"]] == "critical" })
	if critical[col["status"]] != "missed" {
		t.Errorf("critical coverage row %v", critical)
	}
	oldest := find("exposure", "days_open", anyRow)
	if oldest[col["patch_id"]] != "kernel-6.1.119" || oldest[col["value"]] != "21.25" || oldest[col["service"]] != "payments;search" {
		t.Errorf("first exposure row is not the oldest patch: %v", oldest)
	}
	p90 := find("lead_time", "time_to_deploy_p90", func(r []string) bool { return r[col["severity"]] == "high" })
	if p90[col["value"]] != "820800" || p90[col["target"]] != "604800" || p90[col["status"]] != "missed" {
		t.Errorf("time to deploy p90 row %v", p90)
	}
	if r := find("rollbacks", "rollbacks", func(r []string) bool { return r[col["service"]] == "" }); r[col["value"]] != "3" {
		t.Errorf("rollbacks total row %v", r)
	}
	if r := find("report", "period_length", anyRow); r[col["value"]] != "30d" {
		t.Errorf("period row %v", r)
	}
	for i, r := range rows {
		if len(r) != len(header) {
			t.Errorf("row %d has %d fields, want %d", i+1, len(r), len(header))
		}
	}
}

// outline describes the page's structure: headings, tables with their
// headers and row counts, figures and what they hold. It is compared with
// a golden file; chart coordinates are not part of it.
func outline(n *html.Node, b *strings.Builder) {
	if n.Type == html.ElementNode {
		switch n.Data {
		case "title", "h1", "h2", "h3", "figcaption", "li":
			fmt.Fprintf(b, "%s: %s\n", n.Data, text(n))
			return
		case "section", "figure":
			fmt.Fprintf(b, "%s #%s\n", n.Data, attr(n, "id"))
		case "table":
			var heads []string
			rows := 0
			walk(n, func(c *html.Node) {
				switch c.Data {
				case "th":
					heads = append(heads, text(c))
				case "tr":
					if c.Parent.Data == "tbody" {
						rows++
					}
				}
			})
			fmt.Fprintf(b, "table [%s] %d row(s)\n", strings.Join(heads, " | "), rows)
			return
		case "svg":
			paths, texts := 0, 0
			walk(n, func(c *html.Node) {
				switch c.Data {
				case "path":
					paths++
				case "text":
					texts++
				}
			})
			fmt.Fprintf(b, "svg class=%q role=%q label=%q paths>0:%v texts>0:%v\n", attr(n, "class"), attr(n, "role"), attr(n, "aria-label"), paths > 0, texts > 0)
			return
		case "p":
			if attr(n, "class") == "empty" {
				fmt.Fprintf(b, "empty: %s\n", text(n))
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		outline(c, b)
	}
}

func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func byID(root *html.Node, id string) *html.Node {
	var found *html.Node
	walk(root, func(n *html.Node) {
		if found == nil && attr(n, "id") == id {
			found = n
		}
	})
	return found
}

func TestHTMLStructure(t *testing.T) {
	out := render(t, "html")
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	outline(doc, &b)
	golden(t, "coverage.html.outline", []byte(b.String()))

	// The page says its period, when it was made and where the numbers came from.
	for id, want := range map[string]string{
		"period":    "Period: 2026-10-31 12:00 UTC to 2026-11-30 12:00 UTC (30d).",
		"generated": "Generated 2026-11-30 12:00 UTC by patchgate.",
		"sources":   "Metrics: Prometheus HTTP API at http://prometheus:9090. Patch events: postgres.",
	} {
		if n := byID(doc, id); n == nil || text(n) != want {
			t.Errorf("#%s: got %q, want %q", id, text(n), want)
		}
	}
	if got := text(byID(doc, "tile-coverage")); got != "Patch coverage 95.0% target 95.0% met" {
		t.Errorf("coverage tile %q", got)
	}
	if got := text(byID(doc, "tile-exposure")); got != "Open patches over 14 days 2 of 3 open missed" {
		t.Errorf("exposure tile %q", got)
	}
	// Every trend is a chart.
	for _, id := range []string{"coverage", "exposure", "compliance", "rollbacks_incidents"} {
		fig := byID(doc, "trend-"+id)
		if fig == nil {
			t.Errorf("no figure for trend %s", id)
			continue
		}
		svgs := 0
		walk(fig, func(n *html.Node) {
			if n.Data == "svg" {
				svgs++
			}
		})
		if svgs != 1 {
			t.Errorf("trend %s: %d svg elements, want 1", id, svgs)
		}
	}
}

// TestHTMLSelfContained: the page can be mailed or printed offline: no
// script, nothing fetched (no src, no link, no url() or @import, no font
// files), and text that looks like markup stays text.
func TestHTMLSelfContained(t *testing.T) {
	out := render(t, "html")
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "script", "link", "img", "iframe", "object", "embed", "image", "use", "base":
			t.Errorf("element <%s> in the report", n.Data)
		case "checkout":
			t.Errorf("a service name became an element: the page is not escaped")
		}
		for _, a := range n.Attr {
			if a.Key == "src" || a.Key == "href" || a.Key == "xlink:href" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>: pages must not fetch or run anything", n.Data, a.Key, a.Val)
			}
		}
	})
	lower := strings.ToLower(string(out))
	for _, bad := range []string{"url(", "@import", "@font-face", "<script", "javascript:"} {
		if strings.Contains(lower, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	// The only URLs are XML namespace names and the data source named in the text.
	rest := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", `xmlns:xlink="http://www.w3.org/1999/xlink"`, "",
		"http://prometheus:9090", "").Replace(string(out))
	if i := strings.Index(rest, "http"); i >= 0 {
		t.Errorf("report refers to a URL: %q", rest[max(0, i-40):min(len(rest), i+60)])
	}
	if !strings.Contains(string(out), "&lt;checkout &amp; co&gt;") {
		t.Error("the service name <checkout & co> is not shown escaped")
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	err := report.Write(&bytes.Buffer{}, reporttest.Report(), "pdf")
	if err == nil || !strings.Contains(err.Error(), `unknown format "pdf"`) {
		t.Errorf("error %v, want unknown format", err)
	}
}

func TestHTMLWithoutData(t *testing.T) {
	r := reporttest.Report()
	for i := range r.Trends {
		r.Trends[i].Series = nil
	}
	r.Exposure = report.Exposure{Open: []report.OpenPatch{}}
	r.LeadTimes = nil
	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"trend-coverage", "exposure", "lead-times"} {
		n := byID(doc, id)
		var empty string
		walk(n, func(c *html.Node) {
			if attr(c, "class") == "empty" {
				empty = text(c)
			}
		})
		if empty == "" {
			t.Errorf("#%s does not say it has no data", id)
		}
	}
}
