package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// latencyResults are every latency judge's decision on every latency
// stage, kept in the shape the error families' tallies read.
type latencyResults struct {
	families []latencyFamily
	judges   []latencyJudge
	margin   float64 // δ as a fraction
	stages   []*latencyStage
	tally    results // stages and decisions for rows(); judges by key
	engine   engineReport
}

// runLatency simulates the latency families, cross-checks a sample
// through the gate engine, and writes the "Latency families" section.
// A cross-check mismatch is an error, after the section is written.
func runLatency(ctx context.Context, o options, dir string, stdout, stderr io.Writer) error {
	start := time.Now()
	res, err := simulateLatency(ctx, o, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "benchquality: %d latency stages, %d engine looks in %s\n", len(res.stages), res.engine.looks, time.Since(start).Round(time.Millisecond))
	if err := reportLatency(stdout, o, res); err != nil {
		return err
	}
	if len(res.engine.mismatches) > 0 {
		return fmt.Errorf("the gate engine decided %d sampled latency stage(s) differently from stats.Test.Evaluate: %s",
			len(res.engine.mismatches), strings.Join(res.engine.mismatches, "; "))
	}
	return nil
}

// simulateLatency draws every latency stage, lets every latency judge
// decide it, and runs the sample through the gate engine (its TSDB and
// store under dir).
func simulateLatency(ctx context.Context, o options, dir string) (*latencyResults, error) {
	cfg, ld, err := loadLatencyPolicy()
	if err != nil {
		return nil, err
	}
	res := &latencyResults{families: latencyFamilies(), judges: latencyJudges(ld), margin: ld.MarginPP / 100}
	n := stageCount(o, len(res.families))
	res.stages = make([]*latencyStage, n)
	decisions := make([][]decision, n)
	err = eachStage(ctx, o, len(res.families), func(n int, seed uint64, f, i int) {
		s := res.families[f].simulate(seed, f, i, res.margin)
		ds := make([]decision, len(res.judges))
		for j, jd := range res.judges {
			v, m := jd.decide(s)
			ds[j] = decision{verdict: v, minute: m, canary: s.canaryUpTo(m)}
		}
		res.stages[n], decisions[n] = s, ds
	})
	if err != nil {
		return nil, err
	}

	res.tally = results{decisions: decisions}
	for _, f := range res.families {
		res.tally.families = append(res.tally.families, family{name: f.name, what: f.what})
	}
	for _, j := range res.judges {
		res.tally.judges = append(res.tally.judges, judge{name: j.key, what: j.what})
	}
	var sample []*latencyStage
	for _, s := range res.stages {
		res.tally.stages = append(res.tally.stages, s.stage)
		if s.seed == o.seeds[0] && s.index < o.engineStages {
			sample = append(sample, s)
		}
	}
	engineDir := filepath.Join(dir, "latency")
	if err := os.MkdirAll(engineDir, 0o755); err != nil {
		return nil, err
	}
	res.engine, err = latencyEngineCheck(ctx, engineDir, cfg, ld, sample)
	if err != nil {
		return nil, errors.Join(errors.New("latency engine cross-check"), err)
	}
	return res, nil
}

// rows returns each latency judge's row over the stages `in` keeps, named
// as the tables print it.
func (r *latencyResults) rows(in func(*stage) bool) []row {
	out := r.tally.rows(in)
	for j := range out {
		out[j].judge = r.judges[j].name
	}
	return out
}

// reportLatency writes the "Latency families" section: the error
// families' tables, for latency_delta and its baselines.
func reportLatency(out io.Writer, o options, r *latencyResults) error {
	w := bufio.NewWriter(out)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "## Latency families")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "The same seeds and %s stages per family and seed, %s latency stages in all; asked every minute for up to %d minutes. "+
		"Each arm's latencies are log-normal (σ of log-latency 0.5–1), counted per minute into the default histogram buckets (le %s, +Inf); "+
		"the baseline's share slower than %gs is 0.5%%–5%%. A stage is bad when the canary's slow share exceeds the baseline's by more than δ = %gpp "+
		"(latency_delta's default margin). Intervals as above.\n\n",
		count(float64(o.stages)), count(float64(len(r.stages))), horizon, bounds(), latencyThreshold, 100*r.margin)
	if len(r.engine.mismatches) == 0 {
		fmt.Fprintf(w, "Engine cross-check: %d latency stages (%d looks) written as http_request_duration_seconds_bucket counters and asked through gate.Engine over the embedded PromQL engine; "+
			"its latency_delta verdict matched stats.Test.Evaluate at every look, and the requests and slow requests it read matched the simulated ones.\n\n", r.engine.stages, r.engine.looks)
	} else {
		fmt.Fprintf(w, "Engine cross-check: %d latency stages (%d looks); **%d mismatch(es)**: %s\n\n",
			r.engine.stages, r.engine.looks, len(r.engine.mismatches), strings.Join(r.engine.mismatches, "; "))
	}

	writeGates(w, "### Latency gates", r.judges, func(j latencyJudge) (string, string) { return j.name, j.what })
	total := r.rows(all)
	writeAllFamilies(w, "### Latency, all families", "p99 threshold at 10m", total)

	fmt.Fprintln(w, "### latency_delta against the targets")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | patchgate | met |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	pg := total[0]
	fmt.Fprintf(w, "| false go ≤ 1%% | %s | %s |\n", rate(pg.falseGo), met(pg.falseGo, targetFalseGo))
	fmt.Fprintf(w, "| false no_go ≤ 1%% | %s | %s |\n", rate(pg.falseNoGo), met(pg.falseNoGo, targetFalseNoGo))
	fmt.Fprintf(w, "| undecided ≤ %g%% on good canaries with ≥ 100 req/min | %s | %s |\n", 100*targetUndecided, rate(pg.undecidedBusy), met(pg.undecidedBusy, targetUndecided))
	fmt.Fprintf(w, "| canary requests to no_go ≤ 1.2× the fixed p99 threshold's | %s | %s |\n", times(pg.vsThreshold), met(pg.vsThreshold, targetVsThreshold))
	fmt.Fprintln(w)

	fmt.Fprintln(w, "### Latency per family")
	familyTables(w, r.tally.families, r.rows, "#### latency ", "p99 threshold at 10m")
	return w.Flush()
}

// bounds prints the finite bucket boundaries.
func bounds() string {
	s := make([]string, len(latencyBounds))
	for i, b := range latencyBounds {
		s[i] = fmt.Sprintf("%g", b)
	}
	return strings.Join(s, ", ")
}
