package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
)

// A decision of a stage in shadow mode is marked as such on the decision
// page, in the history and among the rollouts, with the verdict the gate
// evaluated beside the go it answered.
func TestUIShadowDecision(t *testing.T) {
	s := newUIServer(t)
	const id = "0193a000-0000-7000-8000-00000000shad"
	d := fixtureDecision(id, "search", "openssh-9.9", "canary", gate.Go, uiNow.Add(-2*time.Minute),
		"shadow mode: the gate evaluated no_go and answers go without enforcing it: error_delta failed", noGoChecks(),
		map[string]any{"mode": "shadow", "shadow": gate.Shadow{Decision: gate.NoGo, Reason: "error_delta failed: regression beyond the 0.50pp margin"}})
	if _, err := s.store.AppendDecision(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	rec := do(t, s.Handler(), http.MethodGet, "/ui/decisions/"+id, ciToken, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	doc := parsePage(t, rec)
	if got := nodeText(byIDNode(doc, "verdict")); got != "GO" {
		t.Errorf("answered verdict %q, want GO", got)
	}
	if got := nodeText(byIDNode(doc, "shadow-mode")); !strings.Contains(got, "shadow mode: evaluated NO GO") {
		t.Errorf("shadow marker %q", got)
	}
	if got := nodeText(byIDNode(doc, "shadow")); !strings.Contains(got, "regression beyond the 0.50pp margin") {
		t.Errorf("shadow notice %q lacks the evaluated reason", got)
	}
	for _, page := range []string{"/ui/history?service=search", "/ui/"} {
		rec := do(t, s.Handler(), http.MethodGet, page, ciToken, "")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "shadow: NO GO") {
			t.Errorf("%s (status %d) does not mark the shadow no_go", page, rec.Code)
		}
	}
}
