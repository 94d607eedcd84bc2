package server

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The decision page leads with what a person reads: the reason in words,
// counts without decimals, every burn-rate limit; the statistics stay one
// click away in a details block.
func TestUIDecisionPageReadsAsSentences(t *testing.T) {
	s := newUIServer(t)
	rec := do(t, s.Handler(), http.MethodGet, "/ui/decisions/"+decKernelNoGo, ciToken, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	doc := parsePage(t, rec)
	reason := nodeText(byIDNode(doc, "reason"))
	if !strings.HasPrefix(reason, "error_delta failed: canary 2.61% errors") || !strings.Contains(reason, "beyond the 0.5 pp margin") {
		t.Errorf("the reason does not lead with the rates: %q", reason)
	}
	for _, stat := range []string{"Z(δ)", "S/√V", "V_bin"} {
		if strings.Contains(reason, stat) {
			t.Errorf("the reason shows statistics (%q): %q", stat, reason)
		}
	}
	// The statistics are inside a closed <details>, with the formula
	// rebuilt from the check's details.
	stats := byIDNode(doc, "stats-error_delta")
	if stats == nil || stats.Data != "details" {
		t.Fatal("no details block for error_delta's statistics")
	}
	if got := nodeText(stats); !strings.Contains(got, "Z(δ)=S/√V=369.043/√998.267=11.680") || !strings.Contains(got, "no_go when Z ≥ 2.738") {
		t.Errorf("the details block lacks the test's arithmetic: %q", got)
	}
	traffic := nodeText(byIDNode(doc, "check-min_traffic"))
	if !strings.Contains(traffic, "21,548 requests") || strings.Contains(traffic, "21,548.") {
		t.Errorf("a count is shown with decimals: %q", traffic)
	}
	burn := nodeText(byIDNode(doc, "check-burn_rate"))
	for _, want := range []string{"14.4× (1h/5m)", "6× (6h/30m)"} {
		if !strings.Contains(burn, want) {
			t.Errorf("burn_rate row %q lacks the threshold %q", burn, want)
		}
	}
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "details" && nodeAttr(n, "open") != "" })) > 0 {
		t.Error("a statistics block is open by default")
	}
}
