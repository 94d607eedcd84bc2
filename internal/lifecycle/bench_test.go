package lifecycle

import (
	"fmt"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

// BenchmarkCompute derives the lifecycle series from 10,000 patches' events
// (100,000 events) and 5,000 decisions, as one refresh of the collector's
// cache does on every replica.
func BenchmarkCompute(b *testing.B) {
	var events []store.Event
	var decisions []store.Decision
	seq := int64(0)
	add := func(e store.Event) {
		seq++
		e.Seq = seq
		events = append(events, e)
	}
	sevs := []string{"critical", "high", "medium", "low"}
	for p := range 10000 {
		id := fmt.Sprintf("patch-%d", p)
		base := t0.Add(time.Duration(p) * time.Minute)
		svc := fmt.Sprintf("svc-%d", p%50)
		add(store.Event{PatchID: id, Type: store.EventDiscovered, Time: base, Severity: sevs[p%4],
			Labels: map[string]string{DisclosedAtLabel: base.Add(-6 * time.Hour).Format(time.RFC3339)}})
		add(store.Event{PatchID: id, Type: store.EventTested, Time: base.Add(20 * time.Hour), Service: svc})
		for c, cluster := range []string{"eu", "us", "ap"} {
			at := base.Add(time.Duration(30+c) * time.Hour)
			add(store.Event{PatchID: id, Type: store.EventStageStarted, Time: at, Service: svc, Cluster: cluster, Stage: "canary"})
			if p%10 == 0 && c == 0 {
				add(store.Event{PatchID: id, Type: store.EventRolledBack, Time: at.Add(40 * time.Minute), Service: svc, Cluster: cluster, Stage: "canary"})
				continue
			}
			add(store.Event{PatchID: id, Type: store.EventDeployed, Time: at.Add(5 * time.Hour), Service: svc, Cluster: cluster})
		}
	}
	for i := range 5000 {
		decisions = append(decisions, store.Decision{Service: fmt.Sprintf("svc-%d", i%50), PatchID: fmt.Sprintf("patch-%d", 9999-i%100),
			Stage: "canary", EvaluatedAt: now.Add(-time.Duration(i) * time.Second),
			Body: []byte(`{"checks":[{"name":"error_delta","observed":0.2}]}`)})
	}
	b.ReportAllocs()
	for b.Loop() {
		Compute(events, decisions, ComputeConfig{Now: now, ActiveFor: 30 * time.Minute})
	}
	b.ReportMetric(float64(len(events)), "events")
}
