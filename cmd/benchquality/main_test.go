package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/gate"
)

// TestShortRun is the CI run of the benchmark: a few hundred stages, one
// per family through the gate engine. It checks that the run completes,
// that its bookkeeping holds and that its tables are whole, not what the
// figures are.
func TestShortRun(t *testing.T) {
	o, err := parseFlags([]string{"-short"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := simulate(context.Background(), o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.engine.mismatches) > 0 || res.engine.stages != len(families()) || res.engine.looks < res.engine.stages {
		t.Errorf("engine cross-check: %d stages, %d looks, mismatches %q", res.engine.stages, res.engine.looks, res.engine.mismatches)
	}
	checkDecisions(t, o, res)

	var out bytes.Buffer
	if err := report(&out, o, res); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "matched stats.Test.Evaluate at every look") {
		t.Errorf("no engine cross-check in the output:\n%s", text)
	}
	for _, bad := range []string{"NaN", "Inf", "**"} {
		if strings.Contains(text, bad) {
			t.Errorf("output holds %q:\n%s", bad, text)
		}
	}
	for _, f := range families() {
		if !strings.Contains(text, "### "+f.name+"\n") {
			t.Errorf("no table for family %s", f.name)
		}
	}
	// Every judge has a row in the table of gates, the two summaries and
	// each family's table.
	for _, j := range res.judges {
		if n := strings.Count(text, "\n| "+j.name+" |"); n != 3+len(families()) {
			t.Errorf("judge %q has %d rows, want %d", j.name, n, 3+len(families()))
		}
	}
	for _, target := range []string{"false go ≤ 1% in every family", "false no_go ≤ 1% in every family", "undecided ≤ 8%", "≤ 1.2× the fixed threshold", "≤ 1.05× on the binomial families", "median minutes to a go on the healthy family ≤ 12"} {
		if !strings.Contains(text, target) {
			t.Errorf("targets table lacks %q", target)
		}
	}
}

// checkDecisions checks the simulation's bookkeeping: what every judge
// decided is a verdict at a minute within the stage, with the canary
// requests seen by then.
func checkDecisions(t *testing.T, o options, res *results) {
	t.Helper()
	if want := len(families()) * o.stages * len(o.seeds); len(res.stages) != want {
		t.Fatalf("%d stages, want %d", len(res.stages), want)
	}
	var good, bad int
	for i, s := range res.stages {
		if s.bad {
			bad++
		} else {
			good++
		}
		for j, d := range res.decisions[i] {
			name := res.judges[j].name
			if d.verdict != gate.Go && d.verdict != gate.NoGo && d.verdict != gate.Wait {
				t.Fatalf("%s: %s answered %q", s, name, d.verdict)
			}
			if d.minute < 1 || d.minute > horizon || (d.verdict == gate.Wait && d.minute != horizon) {
				t.Fatalf("%s: %s answered %s at minute %d", s, name, d.verdict, d.minute)
			}
			if d.canary != s.canaryUpTo(d.minute) {
				t.Fatalf("%s: %s counted %v canary requests to minute %d, the stage had %v", s, name, d.canary, d.minute, s.canaryUpTo(d.minute))
			}
			if name == thresholdJudge && (d.minute != 10 || d.verdict == gate.Wait) {
				t.Fatalf("%s: the threshold at 10m answered %s at minute %d", s, d.verdict, d.minute)
			}
		}
	}
	if good == 0 || bad == 0 {
		t.Fatalf("%d good and %d bad stages: the truth must be mixed", good, bad)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-stages", "0"}, {"-seeds", "one"}, {"-engine-stages", "5", "-stages", "2"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("flags %q accepted", args)
		}
	}
}
