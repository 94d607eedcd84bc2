package slo

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

const errorsSLI = `sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))`

func TestRender(t *testing.T) {
	cases := []struct {
		name     string
		selector string
		vars     Vars
		window   time.Duration
		want     string
		wantErr  string
	}{
		{
			name:     "plain selector",
			selector: `{track="canary"}`,
			window:   time.Minute,
			want:     `sum(rate(http_requests_total{code=~"5..",service="checkout",track="canary"}[1m]))`,
		},
		{
			name:     "patch id filled as a label value",
			selector: `{track="canary",version="{{.patch_id}}"}`,
			vars:     Vars{PatchID: "p-42"},
			window:   time.Hour,
			want:     `sum(rate(http_requests_total{code=~"5..",service="checkout",track="canary",version="p-42"}[1h]))`,
		},
		{
			name:     "injection attempt stays one escaped value",
			selector: `{version="{{.patch_id}}"}`,
			vars:     Vars{PatchID: "p-42\"}) or vector(1) # \\ \n ü"},
			window:   5 * time.Minute,
			want:     `sum(rate(http_requests_total{code=~"5..",service="checkout",version="p-42\"}) or vector(1) # \\ \n ü"}[5m]))`,
		},
		{
			name:     "regex matcher quotes the filled value",
			selector: `{pod=~"{{.params.canary_hash}}-.*"}`,
			vars:     Vars{Params: map[string]string{"canary_hash": "a.b|c"}},
			window:   time.Minute,
			want:     `sum(rate(http_requests_total{code=~"5..",pod=~"a\\.b\\|c-.*",service="checkout"}[1m]))`,
		},
		{
			name:     "missing parameter",
			selector: `{pod="{{.params.canary_hash}}"}`,
			window:   time.Minute,
			wantErr:  "params.canary_hash",
		},
		{
			name:     "bad selector",
			selector: `{track=canary}`,
			window:   time.Minute,
			wantErr:  "parse selector",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := Matchers(tc.selector, tc.vars)
			var got string
			if err == nil {
				got, err = Render(errorsSLI, tc.window, ms)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Sort-insensitive: compare the parsed matcher sets via String(),
			// which the parser prints in a stable order.
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if _, err := parser.ParseExpr(got); err != nil {
				t.Fatalf("rendered query does not parse: %v", err)
			}
		})
	}
}

func TestSelector(t *testing.T) {
	ms := []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchEqual, "alertstate", "firing"),
		labels.MustNewMatcher(labels.MatchEqual, "service", `a"b`),
	}
	got, err := Selector("ALERTS", ms)
	if err != nil {
		t.Fatal(err)
	}
	want := `ALERTS{alertstate="firing",service="a\"b"}`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestAnyOf(t *testing.T) {
	m := AnyOf("stage", "canary", "eu.west", "a|b", `c"d`)
	if got, want := m.String(), `stage=~"canary|eu\\.west|a\\|b|c\"d"`; got != want {
		t.Errorf("AnyOf prints %s, want %s", got, want)
	}
	for v, want := range map[string]bool{
		"canary": true, "eu.west": true, "a|b": true, `c"d`: true,
		"euxwest": false, "a": false, "b": false, "canary2": false, "": false,
	} {
		if got := m.Matches(v); got != want {
			t.Errorf("AnyOf matches %q: %v, want %v", v, got, want)
		}
	}
}

// shape prints a query's syntax tree with every label value blanked, so two
// queries that differ only in label values have the same shape.
func shape(t *testing.T, q string) (string, map[string]string) {
	t.Helper()
	e, err := parser.ParseExpr(q)
	if err != nil {
		t.Fatalf("query %q does not parse: %v", q, err)
	}
	values := map[string]string{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			for _, m := range vs.LabelMatchers {
				if m.Name == "version" || m.Name == "pod" {
					values[m.Name] = m.Value
					m.Value = "X"
				}
			}
		}
		return nil
	})
	return e.String(), values
}

func FuzzRenderShape(f *testing.F) {
	for _, s := range []string{"p-42", `"}) or vector(1) #`, "\\", "\n", "{{", "ü", `a"b{c}d`, "`"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, patch, hash string) {
		const sel = `{version="{{.patch_id}}",pod=~"{{.params.hash}}.*"}`
		ms, err := Matchers(sel, Vars{PatchID: patch, Params: map[string]string{"hash": hash}})
		if err != nil {
			// The only acceptable failure: a value that is not valid UTF-8
			// cannot form a regular expression.
			if strings.Contains(err.Error(), "error parsing regexp") {
				return
			}
			t.Fatalf("matchers: %v", err)
		}
		got, err := Render(errorsSLI, time.Minute, ms)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		ref, err := Render(errorsSLI, time.Minute, mustMatchers(t, sel, Vars{PatchID: "x", Params: map[string]string{"hash": "x"}}))
		if err != nil {
			t.Fatal(err)
		}
		gotShape, values := shape(t, got)
		refShape, _ := shape(t, ref)
		if gotShape != refShape {
			t.Fatalf("input changed the query's shape:\n got %s\nwant %s", gotShape, refShape)
		}
		if len(values) != 2 || values["version"] != patch || values["pod"] != regexp.QuoteMeta(hash)+".*" {
			t.Fatalf("label values %q do not carry the patch id %q and hash %q", values, patch, hash)
		}
	})
}

func mustMatchers(t *testing.T, sel string, v Vars) []*labels.Matcher {
	t.Helper()
	ms, err := Matchers(sel, v)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
