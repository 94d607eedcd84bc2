package server

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/patchgate/patchgate/gate"
)

// A decision in shadow mode is counted under the verdict the gate
// evaluated, with mode="shadow", so the on-call dashboard shows a shadow
// no_go although the answer was go.
func TestDecisionMetricMarksShadowMode(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.observeDecision(gate.Decision{Service: "checkout", Stage: "canary", Decision: gate.Go, Mode: gate.ModeShadow,
		Shadow: &gate.Shadow{Decision: gate.NoGo, Reason: "error_delta failed"}}, time.Millisecond)
	m.observeDecision(gate.Decision{Service: "checkout", Stage: "canary", Decision: gate.NoGo, Mode: gate.ModeEnforce}, time.Millisecond)
	want := `
# HELP patchgate_decisions_total Gate decisions answered, by service, stage, decision and mode. In shadow mode, decision is the verdict the gate evaluated; the answer was go.
# TYPE patchgate_decisions_total counter
patchgate_decisions_total{decision="no_go",mode="enforce",service="checkout",stage="canary"} 1
patchgate_decisions_total{decision="no_go",mode="shadow",service="checkout",stage="canary"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "patchgate_decisions_total"); err != nil {
		t.Fatal(err)
	}
}
