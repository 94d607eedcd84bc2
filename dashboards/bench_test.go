package dashboards

import (
	"context"
	"testing"

	"github.com/patchgate/patchgate/internal/grafanatest"
)

// BenchmarkAnnotatorAdd is the cost an annotation adds to a decision: into
// a queue with room (run it with -benchtime up to 65536x), and into one that
// stays full because Grafana hangs (the annotation is dropped and counted).
func BenchmarkAnnotatorAdd(b *testing.B) {
	for _, bc := range []struct {
		name  string
		hang  bool
		queue int
	}{{"queue with room", false, 1 << 16}, {"grafana hangs, queue full", true, 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			g := grafanatest.New(b)
			if bc.hang {
				g.Hang()
			}
			a, err := NewAnnotator(AnnotatorConfig{
				Grafana:      ClientConfig{URL: g.URL, Token: grafanatest.Token, Retry: fastRetry},
				DashboardUID: "pg-oncall", QueueSize: bc.queue,
			})
			if err != nil {
				b.Fatal(err)
			}
			an := decision("p-1", "no_go", "error_delta failed")
			b.ReportAllocs()
			for b.Loop() {
				a.Add(an)
			}
			b.StopTimer()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			a.Stop(ctx)
		})
	}
}

// BenchmarkBuild generates every dashboard of the test configuration.
func BenchmarkBuild(b *testing.B) {
	cfg := testConfig(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildFor(cfg, Latest); err != nil {
			b.Fatal(err)
		}
	}
}
