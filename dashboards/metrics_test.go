package dashboards

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/slo"
)

// knownMetrics is what the dashboards may read: the project's catalog for
// the test configuration (what patchgate exports, what its generated rules
// and Sloth's record, the fleet input contract), the annotator's metrics,
// and the debug dashboard's inputs. The last two must be in
// docs/metrics.md.
func knownMetrics(t *testing.T) map[string]string {
	t.Helper()
	cat, err := slo.NewGenerator(slo.GeneratorConfig{}).KnownMetrics(context.Background(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]string{}
	for name, origin := range cat {
		known[name] = string(origin)
	}
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := func(name, origin string) {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/metrics.md does not name %s, which the dashboards read", name)
		}
		known[name] = origin
	}
	for _, n := range []string{MetricAnnotationsSent, MetricAnnotationsFailed, MetricAnnotationsDropped, MetricAnnotationsQueued} {
		documented(n, "exported by patchgate's annotator")
	}
	for _, in := range Inputs() {
		documented(in.Name, "dashboard input from "+in.Producer)
		if in.Type == "histogram" {
			for _, s := range []string{"_bucket", "_count", "_sum"} {
				known[in.Name+s] = "dashboard input from " + in.Producer
			}
		}
	}
	return known
}

// TestQueriesReadKnownMetrics parses every query of every dashboard with
// Prometheus' parser (Grafana's variables replaced with sample values) and
// checks that every series it reads is produced by someone.
func TestQueriesReadKnownMetrics(t *testing.T) {
	known := knownMetrics(t)
	n := 0
	for _, d := range build(t) {
		qs, err := d.Queries()
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			n++
			names, err := slo.Metrics(Sample(q.Expr))
			if err != nil {
				t.Errorf("%s %s: %v", d.UID, q.Where, err)
				continue
			}
			for _, name := range names {
				if _, ok := known[name]; !ok {
					t.Errorf("%s %s reads %s, which nothing produces", d.UID, q.Where, name)
				}
			}
		}
	}
	if n < 60 {
		t.Errorf("%d queries checked, want at least 60", n)
	}

	// The check can fail.
	names, err := slo.Metrics(Sample(`sum(rate(patchgate_made_up_total{service=~"$service"}[$__rate_interval]))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || known[names[0]] != "" {
		t.Errorf("made-up metric read as %v, known as %q", names, known[names[0]])
	}
}
