package backtest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/patchgate/patchgate/gate"
)

// Summary counts a run's verdicts.
type Summary struct {
	Stages   int `json:"stages"`
	Go       int `json:"go"`
	NoGo     int `json:"no_go"`
	Wait     int `json:"wait"`
	TimedOut int `json:"timed_out"`
	// MedianMinute is the median deciding look of the stages decided by a
	// test (not timed out); 0 when there is none.
	MedianMinute float64 `json:"median_minute"`
	// Failed is how many rows could not be replayed (bad row, unknown
	// service or stage, source error).
	Failed int `json:"failed"`
	// Compare is the same for the second policy, and Differ how many
	// stages it answered differently.
	Compare *Summary `json:"compare,omitempty"`
	Differ  int      `json:"differ,omitempty"`
	// RolledBack and Stopped: of the rollouts rolled back or tied to an
	// incident (stages from the store), how many the policy would have
	// stopped with a no_go.
	RolledBack int `json:"rolled_back,omitempty"`
	Stopped    int `json:"stopped,omitempty"`
	// Notes say what the backtest did not replay.
	Notes []string `json:"notes"`
}

// Summarise counts results; failed is the number of rows not replayed.
func Summarise(results []Result, failed int, notes []string) Summary {
	s := summarise(results, func(r Result) *Verdict { return &r.Verdict })
	s.Failed, s.Notes = failed, notes
	if len(results) > 0 && results[0].Compare != nil {
		c := summarise(results, func(r Result) *Verdict { return r.Compare })
		s.Compare = &c
		for _, r := range results {
			if r.Compare != nil && (r.Compare.Decision != r.Decision || r.Compare.Minute != r.Minute) {
				s.Differ++
			}
		}
	}
	stopped := map[[2]string]bool{}
	rolled := map[[2]string]bool{}
	for _, r := range results {
		k := [2]string{r.Service, r.PatchID}
		if r.RolledBack {
			rolled[k] = true
			if r.Decision == gate.NoGo {
				stopped[k] = true
			}
		}
	}
	s.RolledBack, s.Stopped = len(rolled), len(stopped)
	return s
}

func summarise(results []Result, pick func(Result) *Verdict) Summary {
	s := Summary{Stages: len(results)}
	var minutes []int
	for _, r := range results {
		v := pick(r)
		if v == nil {
			continue
		}
		switch v.Decision {
		case gate.Go:
			s.Go++
		case gate.NoGo:
			s.NoGo++
		default:
			s.Wait++
		}
		if v.TimedOut {
			s.TimedOut++
		} else if v.Decision != gate.Wait {
			minutes = append(minutes, v.Minute)
		}
	}
	if n := len(minutes); n > 0 {
		slices.Sort(minutes)
		s.MedianMinute = float64(minutes[n/2])
		if n%2 == 0 {
			s.MedianMinute = float64(minutes[n/2-1]+minutes[n/2]) / 2
		}
	}
	return s
}

// Report is what a run writes.
type Report struct {
	Results []Result `json:"results"`
	Summary Summary  `json:"summary"`
}

// WriteJSON writes the report as JSON.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes one line a stage.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	header := []string{"service", "patch_id", "stage", "started_at", "decision", "minute", "timed_out", "canary_requests", "reason"}
	compare := len(r.Results) > 0 && r.Results[0].Compare != nil
	if compare {
		header = append(header, "compare_decision", "compare_minute", "compare_timed_out", "compare_canary_requests", "compare_reason")
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	fields := func(v Verdict) []string {
		return []string{string(v.Decision), strconv.Itoa(v.Minute), strconv.FormatBool(v.TimedOut),
			strconv.FormatFloat(math.Round(v.CanaryRequests), 'f', -1, 64), v.Reason}
	}
	for _, res := range r.Results {
		rec := append([]string{res.Service, res.PatchID, res.Stage, res.StartedAt.UTC().Format(time.RFC3339)}, fields(res.Verdict)...)
		if compare && res.Compare != nil {
			rec = append(rec, fields(*res.Compare)...)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTable writes the people's table: a line a stage, then the summary.
func WriteTable(w io.Writer, r Report) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	compare := len(r.Results) > 0 && r.Results[0].Compare != nil
	head := "SERVICE\tPATCH\tSTAGE\tSTARTED\tDECISION\tMINUTE\tCANARY REQUESTS"
	if compare {
		head += "\tCOMPARE\tMINUTE"
	}
	fmt.Fprintln(tw, head)
	for _, res := range r.Results {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%.0f", res.Service, res.PatchID, res.Stage,
			res.StartedAt.UTC().Format("2006-01-02 15:04"), verdictText(res.Verdict), res.Minute, res.CanaryRequests)
		if compare && res.Compare != nil {
			line += fmt.Sprintf("\t%s\t%d", verdictText(*res.Compare), res.Compare.Minute)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, SummaryText(r.Summary))
	return err
}

func verdictText(v Verdict) string {
	if v.TimedOut {
		return string(v.Decision) + " (timed out)"
	}
	return string(v.Decision)
}

// SummaryText says the summary in words.
func SummaryText(s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d stage(s): %s", s.Stages, counts(s))
	if s.Compare != nil {
		fmt.Fprintf(&b, "\ncompared policy: %s; %d stage(s) answered differently", counts(*s.Compare), s.Differ)
	}
	if s.RolledBack > 0 {
		fmt.Fprintf(&b, "\nwould have stopped %d of the %d rollouts that were rolled back", s.Stopped, s.RolledBack)
	}
	if s.Failed > 0 {
		fmt.Fprintf(&b, "\n%d row(s) could not be replayed (see the errors above)", s.Failed)
	}
	return b.String()
}

func counts(s Summary) string {
	text := fmt.Sprintf("%d go, %d no_go", s.Go, s.NoGo)
	if s.Wait > 0 {
		text += fmt.Sprintf(", %d undecided (data ends)", s.Wait)
	}
	text += fmt.Sprintf(", %d of them at max_wait", s.TimedOut)
	if s.MedianMinute > 0 {
		text += fmt.Sprintf("; a test decided at minute %g (median)", s.MedianMinute)
	}
	return text
}

// WriteHTML writes one self-contained page: the summary, then a verdict
// timeline per stage (SVG, one cell a minute) and the reason.
func WriteHTML(w io.Writer, r Report, made time.Time) error {
	type row struct {
		Result
		Cells        []cell
		CompareCells []cell
		Width        int
	}
	rows := make([]row, len(r.Results))
	for i, res := range r.Results {
		rows[i] = row{Result: res, Cells: cells(res.Timeline)}
		n := len(res.Timeline)
		if res.Compare != nil {
			rows[i].CompareCells = cells(res.Compare.Timeline)
			n = max(n, len(res.Compare.Timeline))
		}
		rows[i].Width = max(n*cellWidth, cellWidth)
	}
	return page.Execute(w, map[string]any{
		"Report": r, "Rows": rows, "Made": made.UTC().Format(time.RFC3339), "Summary": SummaryText(r.Summary),
	})
}

const cellWidth = 10

type cell struct {
	X       int
	Verdict string
	Minute  int
}

func cells(timeline []gate.Verdict) []cell {
	out := make([]cell, len(timeline))
	for i, v := range timeline {
		out[i] = cell{X: i * cellWidth, Verdict: string(v), Minute: i + 1}
	}
	return out
}

var page = template.Must(template.New("backtest").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>patchgate backtest</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #111827; }
table { border-collapse: collapse; } td, th { padding: .25rem .5rem; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
.go { fill: #16a34a; } .no_go { fill: #dc2626; } .wait { fill: #facc15; }
.muted { color: #6b7280; } pre { white-space: pre-wrap; }
</style></head><body>
<h1>Backtest</h1>
<p class="muted">Made {{.Made}}. Each stage replayed once a minute from its start, through the gate's own checks and decision code, until the first go or no_go or max_wait. Cells: one a minute, green go, red no_go, yellow wait.</p>
<pre id="summary">{{.Summary}}</pre>
{{range .Report.Summary.Notes}}<p class="muted">Note: {{.}}</p>{{end}}
<table id="stages">
<thead><tr><th>Service</th><th>Patch</th><th>Stage</th><th>Started</th><th>Decision</th><th>Timeline</th><th>Reason</th></tr></thead>
<tbody>
{{range .Rows}}<tr>
<td>{{.Service}}</td><td>{{.PatchID}}</td><td>{{.Stage}}</td><td>{{.StartedAt.UTC.Format "2006-01-02 15:04"}}</td>
<td>{{.Decision}} at minute {{.Minute}}{{if .TimedOut}} (max_wait){{end}}{{with .Compare}}<br><span class="muted">compare: {{.Decision}} at minute {{.Minute}}{{if .TimedOut}} (max_wait){{end}}</span>{{end}}</td>
<td><svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{if .CompareCells}}26{{else}}12{{end}}" role="img" aria-label="verdict per minute">
{{range .Cells}}<rect x="{{.X}}" y="0" width="9" height="10" class="{{.Verdict}}"><title>minute {{.Minute}}: {{.Verdict}}</title></rect>{{end}}
{{range .CompareCells}}<rect x="{{.X}}" y="14" width="9" height="10" class="{{.Verdict}}"><title>compare, minute {{.Minute}}: {{.Verdict}}</title></rect>{{end}}
</svg></td>
<td>{{.Reason}}</td>
</tr>
{{end}}</tbody></table>
</body></html>
`))
