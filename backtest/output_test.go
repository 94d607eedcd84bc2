package backtest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
)

func sampleReport() Report {
	results := []Result{
		{Service: "checkout", PatchID: "openssl", Stage: "canary", StartedAt: t0, Params: map[string]string{"track": "healthy"},
			Verdict: Verdict{Decision: gate.Go, Minute: 4, CanaryRequests: 24000, Mode: "enforce", Timeline: []gate.Verdict{"wait", "wait", "wait", "go"}, Reason: "all checks passed"},
			Compare: &Verdict{Decision: gate.Go, Minute: 6, Timeline: []gate.Verdict{"wait", "wait", "wait", "wait", "wait", "go"}}},
		{Service: "checkout", PatchID: "kernel", Stage: "canary", StartedAt: t0, Params: map[string]string{}, RolledBack: true,
			Verdict: Verdict{Decision: gate.NoGo, Minute: 3, CanaryRequests: 18000, Timeline: []gate.Verdict{"wait", "wait", "no_go"}, Reason: "error_delta failed <b>"},
			Compare: &Verdict{Decision: gate.NoGo, Minute: 20, TimedOut: true, Timeline: []gate.Verdict{"no_go"}}},
	}
	return Report{Results: results, Summary: Summarise(results, 1, []string{"a note"})}
}

func TestSummary(t *testing.T) {
	s := sampleReport().Summary
	if s.Stages != 2 || s.Go != 1 || s.NoGo != 1 || s.TimedOut != 0 || s.MedianMinute != 3.5 || s.Failed != 1 {
		t.Errorf("summary %+v", s)
	}
	if s.Compare == nil || s.Compare.TimedOut != 1 || s.Compare.MedianMinute != 6 || s.Differ != 2 {
		t.Errorf("compare summary %+v, differ %d", s.Compare, s.Differ)
	}
	if s.RolledBack != 1 || s.Stopped != 1 || !strings.Contains(SummaryText(s), "would have stopped 1 of the 1 rollouts that were rolled back") {
		t.Errorf("rolled back %d, stopped %d: %s", s.RolledBack, s.Stopped, SummaryText(s))
	}
}

func TestWriteJSONFields(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []map[string]any `json:"results"`
		Summary map[string]any   `json:"summary"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"service", "patch_id", "stage", "started_at", "params", "decision", "minute", "timed_out", "reason", "canary_requests", "compare"} {
		if _, ok := doc.Results[0][f]; !ok {
			t.Errorf("result lacks %q: %v", f, doc.Results[0])
		}
	}
	cmp := doc.Results[1]["compare"].(map[string]any)
	if cmp["decision"] != "no_go" || cmp["timed_out"] != true || cmp["minute"] != 20.0 {
		t.Errorf("compare %v", cmp)
	}
	if doc.Summary["stages"] != 2.0 {
		t.Errorf("summary %v", doc.Summary)
	}
}

func TestWriteCSVAndHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0][4] != "decision" || rows[0][9] != "compare_decision" || rows[2][4] != "no_go" || rows[2][11] != "true" {
		t.Errorf("csv %q", rows)
	}
	b.Reset()
	if err := WriteHTML(&b, sampleReport(), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, "<rect "); n != 4+3+6+1 {
		t.Errorf("%d timeline cells, want one a look of each policy (14)", n)
	}
	if strings.Contains(page, "<b>") || !strings.Contains(page, "&lt;b&gt;") {
		t.Error("a reason is not escaped")
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") && !strings.Contains(page, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("the page is not self-contained")
	}
}
