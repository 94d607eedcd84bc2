package gate

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/patchgate/patchgate/internal/config"
)

// queryLog records every query and answers nothing (empty results).
type queryLog struct {
	mu      sync.Mutex
	queries []string
}

func (q *queryLog) Query(_ context.Context, s string, _ time.Time) (model.Vector, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queries = append(q.queries, s)
	return nil, nil
}

func (q *queryLog) QueryRange(_ context.Context, s string, _, _ time.Time, _ time.Duration) (model.Matrix, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queries = append(q.queries, s)
	return nil, nil
}

const fuzzPolicy = `
source: {type: embedded}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
      canary: '{track="canary",patch="{{.patch_id}}",pod=~"{{.params.hash}}-.*"}'
      baseline: '{track="baseline",patch!="{{.patch_id}}"}'
    slo: {objective: 99}
    checks:
      error_delta: {}
      min_traffic: {requests: 10}
      burn_rate: {}
      alerts: {selector: '{severity="page",patch="{{.patch_id}}"}'}
      freshness: {}
    stages: [{name: canary, max_wait: 20m}]
`

// shapes returns the sorted queries of one decision with every label value
// that came from the request blanked.
func shapes(t *testing.T, e *Engine, log *queryLog, patch, hash string) ([]string, error) {
	t.Helper()
	log.mu.Lock()
	log.queries = nil
	log.mu.Unlock()
	_, err := e.Decide(context.Background(), Request{Service: "checkout", PatchID: patch, Stage: "canary",
		Params: map[string]string{"hash": hash, ParamStageStartedAt: t0.Format(time.RFC3339)}})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, q := range log.queries {
		expr, err := parser.ParseExpr(q)
		if err != nil {
			t.Fatalf("the gate sent a query that does not parse: %q: %v", q, err)
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				for _, m := range vs.LabelMatchers {
					if m.Name == "patch" || m.Name == "pod" {
						m.Value = "X"
					}
				}
			}
			return nil
		})
		out = append(out, expr.String())
	}
	sort.Strings(out)
	return out, nil
}

// FuzzDecideQueryShape proves that nothing a client sends changes the
// shape of a query: patch ids and parameters reach PromQL only as label
// values.
func FuzzDecideQueryShape(f *testing.F) {
	for _, s := range []string{"p-42", `p-42"}) or vector(1) # \ ` + "\n ü", "{{.service}}", `a"b{c}d`, "\\", "`", ".*"} {
		f.Add(s, s)
	}
	cfg, err := config.Parse("fuzz.yaml", []byte(fuzzPolicy))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, patch, hash string) {
		if patch == "" {
			return // a 422, tested elsewhere
		}
		log := &queryLog{}
		e, err := New(Config{Policy: cfg, Source: log, Store: NewMemoryStore(),
			Now: func() time.Time { return t0.Add(5 * time.Minute) }})
		if err != nil {
			t.Fatal(err)
		}
		want, err := shapes(t, e, log, "x", "x")
		if err != nil {
			t.Fatal(err)
		}
		got, err := shapes(t, e, log, patch, hash)
		var fe *FieldError
		if errors.As(err, &fe) || err != nil && strings.Contains(err.Error(), "selector") {
			return // refused with a clear error: no query sent
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("patch %q, hash %q changed the queries' shape:\n got %q\nwant %q", patch, hash, got, want)
		}
	})
}
