package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/numfmt"
)

// Targets from the statistics reference.
const (
	targetFalseGo     = 0.01
	targetFalseNoGo   = 0.01
	targetUndecided   = 0.08
	targetVsThreshold = 1.2
	// targetVsThresholdBinomial is for the families with binomial errors
	// and ordinary traffic (bad, bad_ratio, drift, step).
	targetVsThresholdBinomial = 1.05
	// targetMedianGo is the median minutes to a go on the healthy family.
	targetMedianGo = 12
)

// report writes the results as Markdown.
func report(out io.Writer, o options, r *results) error {
	w := bufio.NewWriter(out)
	seeds := make([]string, len(o.seeds))
	for i, s := range o.seeds {
		seeds[i] = strconv.FormatUint(s, 10)
	}
	fmt.Fprintf(w, "Seeds %s; %s stages per family and seed, %s stages in all; asked every minute for up to %d minutes.\n",
		strings.Join(seeds, ", "), count(float64(o.stages)), count(float64(len(r.stages))), horizon)
	fmt.Fprintf(w, "Intervals are 95%%: Wilson for rates, Student-t for means, bootstrap (2,000 resamples of stages) for the request ratio.\n\n")
	if len(r.engine.mismatches) == 0 {
		fmt.Fprintf(w, "Engine cross-check: %d stages (%d looks) asked through gate.Engine over the embedded PromQL engine; "+
			"its error_delta verdict matched stats.Test.Evaluate at every look, and so did the dispersion prior it read from the hour before the stage (pooled at %d looks).\n\n",
			r.engine.stages, r.engine.looks, r.engine.priorLooks)
	} else {
		fmt.Fprintf(w, "Engine cross-check: %d stages (%d looks); **%d mismatch(es)**: %s\n\n",
			r.engine.stages, r.engine.looks, len(r.engine.mismatches), strings.Join(r.engine.mismatches, "; "))
	}

	writeGates(w, "## Gates", r.judges, func(j judge) (string, string) { return j.name, j.what })
	total := r.rows(all)
	writeAllFamilies(w, "## All families", "threshold at 10m", total)

	fmt.Fprintln(w, "## patchgate against the targets")
	fmt.Fprintln(w)
	// The first judge is patchgate as configured, the second the test
	// before issue 16, shown beside it.
	fmt.Fprintf(w, "| target | patchgate | met | %s |\n", r.judges[1].name)
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	plain := r.rows(plainErrors)
	healthy := r.rows(inFamily("healthy"))
	worst := func(j int, falseGo bool) (estimate, string) {
		var e estimate
		var name string
		for _, f := range r.families {
			x := r.rows(inFamily(f.name))[j]
			v := x.falseNoGo
			if falseGo {
				v = x.falseGo
			}
			if v.n > 0 && (e.n == 0 || v.value > e.value) {
				e, name = v, f.name
			}
		}
		return e, name
	}
	line := func(target string, show func(estimate) string, limit float64, at func(j int) (estimate, string)) {
		e, name := at(0)
		b, bname := at(1)
		fmt.Fprintf(w, "| %s | %s%s | %s | %s%s |\n", target, show(e), worstOf(name), met(e, limit), show(b), worstOf(bname))
	}
	of := func(rows []row, get func(row) estimate) func(int) (estimate, string) {
		return func(j int) (estimate, string) { return get(rows[j]), "" }
	}
	line("false go ≤ 1%", rate, targetFalseGo, of(total, func(x row) estimate { return x.falseGo }))
	line("false no_go ≤ 1%", rate, targetFalseNoGo, of(total, func(x row) estimate { return x.falseNoGo }))
	line("false go ≤ 1% in every family", rate, targetFalseGo, func(j int) (estimate, string) { return worst(j, true) })
	line("false no_go ≤ 1% in every family", rate, targetFalseNoGo, func(j int) (estimate, string) { return worst(j, false) })
	line("undecided ≤ 8% on good canaries with ≥ 100 req/min", rate, targetUndecided, of(total, func(x row) estimate { return x.undecidedBusy }))
	line("canary requests to no_go ≤ 1.2× the fixed threshold's", times, targetVsThreshold, of(total, func(x row) estimate { return x.vsThreshold }))
	line("the same ≤ 1.05× on the binomial families (bad, bad_ratio, drift, step)", times, targetVsThresholdBinomial, of(plain, func(x row) estimate { return x.vsThreshold }))
	line("median minutes to a go on the healthy family ≤ 12", medianText, targetMedianGo, of(healthy, func(x row) estimate { return x.medianGo }))
	fmt.Fprintln(w)
	r.futility(w)

	fmt.Fprintln(w, "Without the bursty and low-traffic families (binomial errors, 200–5,000 requests a minute):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| gate | false go | false no_go | undecided, good canaries ≥ 100 req/min | canary requests to no_go ÷ threshold at 10m |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, x := range plain {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", x.judge, rate(x.falseGo), rate(x.falseNoGo), rate(x.undecidedBusy), times(x.vsThreshold))
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "## Per family")
	familyTables(w, r.families, r.rows, "### ", "threshold at 10m")
	return w.Flush()
}

// familyTables writes one table per family, under headings that start
// with title; ref names the gate requests to no_go are compared with.
func familyTables(w io.Writer, families []family, rows func(func(*stage) bool) []row, title, ref string) {
	for _, f := range families {
		rs := rows(inFamily(f.name))
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%s%s\n\n%s. %s good, %s bad stages.\n\n", title, f.name, f.what, count(float64(rs[0].good)), count(float64(rs[0].bad)))
		fmt.Fprintf(w, "| gate | false go | false no_go | undecided | minutes to decision | canary requests to decision | canary requests to no_go ÷ %s |\n", ref)
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- |")
		for _, x := range rs {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", x.judge,
				rate(x.falseGo), rate(x.falseNoGo), rate(x.undecided),
				decimal(x.minutes, 1), requests(x.requests), times(x.vsThreshold))
		}
	}
}

const none = "—"

// rate prints a proportion in percent with its interval.
func rate(e estimate) string {
	if e.n == 0 {
		return none
	}
	d := 1
	if e.hi < 0.02 {
		d = 2
	}
	return fmt.Sprintf("%.*f%% [%.*f, %.*f]", d, 100*e.value, d, 100*e.lo, d, 100*e.hi)
}

func decimal(e estimate, d int) string {
	if e.n == 0 {
		return none
	}
	return fmt.Sprintf("%.*f [%.*f, %.*f]", d, e.value, d, e.lo, d, e.hi)
}

func times(e estimate) string {
	if e.n == 0 {
		return none
	}
	return fmt.Sprintf("%.2f× [%.2f, %.2f]", e.value, e.lo, e.hi)
}

func requests(e estimate) string {
	if e.n == 0 {
		return none
	}
	return fmt.Sprintf("%s [%s, %s]", count(e.value), count(e.lo), count(e.hi))
}

// worstOf names the family a worst-case figure comes from.
func worstOf(family string) string {
	if family == "" {
		return ""
	}
	return " (" + family + ")"
}

func medianText(e estimate) string {
	if e.n == 0 {
		return none
	}
	return fmt.Sprintf("%.0f [%.0f, %.0f]", e.value, e.lo, e.hi)
}

// futility says what on_futility: answer (with on_timeout: no_go) does to
// patchgate's stages: how many it answers early, the minutes that saves on
// stages that would have stayed undecided, and the verdicts it changes
// (stages the test would have decided go later).
func (r *results) futility(w io.Writer) {
	pg := 0
	var fired, undecided, laterGo, laterGoBad, laterNoGo int
	var saved, at float64
	for i, m := range r.futileAt {
		if m == 0 {
			continue
		}
		fired++
		at += float64(m)
		switch r.decisions[i][pg].verdict {
		case gate.Go:
			laterGo++
			if r.stages[i].bad {
				laterGoBad++
			}
		case gate.NoGo:
			laterNoGo++
		default:
			undecided++
			saved += float64(horizon - m)
		}
	}
	if fired == 0 {
		fmt.Fprintf(w, "Futility (on_futility: answer): no stage was judged out of reach before a decision.\n\n")
		return
	}
	fmt.Fprintf(w, "Futility (on_futility: answer, on_timeout: no_go): %s of %s stages (%.1f%%) were judged out of reach before a decision, at minute %.1f on average. "+
		"%s of them would have stayed undecided to minute %d: the answer came %.1f minutes sooner on average. "+
		"%s would have been decided later, %s no_go (the same answer, sooner) and %s go (%s of them on bad canaries): those %s verdicts change to on_timeout's no_go.\n\n",
		count(float64(fired)), count(float64(len(r.stages))), 100*float64(fired)/float64(len(r.stages)), at/float64(fired),
		count(float64(undecided)), horizon, saved/math.Max(float64(undecided), 1),
		count(float64(laterGo+laterNoGo)), count(float64(laterNoGo)), count(float64(laterGo)), count(float64(laterGoBad)), count(float64(laterGo)))
}

// met compares a point estimate with its target and says how sure that is.
func met(e estimate, target float64) string {
	switch {
	case e.n == 0:
		return "no data"
	case e.hi <= target:
		return "yes"
	case e.value <= target:
		return "yes (the interval reaches past the target)"
	default:
		return fmt.Sprintf("no: %.2f× the target", e.value/target)
	}
}

// count prints a rounded count with thousands separators.
func count(v float64) string { return numfmt.Grouped(v, 0) }

// writeGates writes the table of the gates compared: name and what of
// each, in order.
func writeGates[J any](w io.Writer, heading string, judges []J, describe func(J) (name, what string)) {
	fmt.Fprintln(w, heading)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| gate | how it decides |")
	fmt.Fprintln(w, "| --- | --- |")
	for _, j := range judges {
		name, what := describe(j)
		fmt.Fprintf(w, "| %s | %s |\n", name, what)
	}
	fmt.Fprintln(w)
}

// writeAllFamilies writes the all-families table: each gate's error
// rates, undecided shares, minutes and canary requests to a decision,
// the last against the named threshold gate.
func writeAllFamilies(w io.Writer, heading, threshold string, total []row) {
	fmt.Fprintln(w, heading)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s good stages (true difference ≤ δ), %s bad.\n\n", count(float64(total[0].good)), count(float64(total[0].bad)))
	fmt.Fprintf(w, "| gate | false go | false no_go | undecided, good canaries ≥ 100 req/min | undecided, all | minutes to go (good) | minutes to no_go (bad) | canary requests to no_go (bad) | canary requests to no_go ÷ %s |\n", threshold)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, x := range total {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", x.judge,
			rate(x.falseGo), rate(x.falseNoGo), rate(x.undecidedBusy), rate(x.undecided),
			decimal(x.minutesGo, 1), decimal(x.minutesNoGo, 1), requests(x.requestsNoGo), times(x.vsThreshold))
	}
	fmt.Fprintln(w)
}
