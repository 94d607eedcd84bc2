// Command benchquality measures how often gates decide canary stages
// wrongly: patchgate's error_delta check (gate/stats, as the engine runs
// it), a fixed threshold as Flagger and Argo Rollouts checks are written,
// and Kayenta's Mann-Whitney judge, on the same simulated stages with
// known truth. It prints Markdown tables; docs/decision-quality.md holds a
// run and explains the method.
//
//	go run ./cmd/benchquality            # the full run (make bench-quality)
//	go run ./cmd/benchquality -short     # a few hundred stages (CI)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patchgate/patchgate/gate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchquality:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	seeds        []uint64
	stages       int // per family and seed
	engineStages int // per family, first seed, through gate.Engine
	workers      int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("benchquality", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seeds := fs.String("seeds", "1,2", "comma-separated seeds; each draws its own stages")
	stages := fs.Int("stages", 2000, "stages per family and seed")
	engine := fs.Int("engine-stages", 3, "stages per family (first seed) also run through gate.Engine over the embedded PromQL engine")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "simulation goroutines")
	short := fs.Bool("short", false, "a quick run for CI: seed 1, 40 stages per family, 1 per family through the engine")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o := options{stages: *stages, engineStages: *engine, workers: *workers}
	if *short {
		*seeds, o.stages, o.engineStages = "1", 40, 1
	}
	for _, f := range strings.Split(*seeds, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return options{}, fmt.Errorf("-seeds: %q is not a seed (a non-negative integer)", f)
		}
		o.seeds = append(o.seeds, v)
	}
	switch {
	case o.stages < 1:
		return options{}, fmt.Errorf("-stages must be at least 1, got %d", o.stages)
	case o.engineStages < 0 || o.engineStages > o.stages:
		return options{}, fmt.Errorf("-engine-stages must be between 0 and -stages (%d), got %d", o.stages, o.engineStages)
	case o.workers < 1:
		return options{}, fmt.Errorf("-workers must be at least 1, got %d", o.workers)
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "benchquality-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	res, err := simulate(ctx, o, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "benchquality: %d stages, %d engine looks in %s\n", len(res.stages), res.engine.looks, time.Since(start).Round(time.Millisecond))
	if err := report(stdout, o, res); err != nil {
		return err
	}
	if err := runLatency(ctx, o, dir, stdout, stderr); err != nil {
		return err
	}
	if len(res.engine.mismatches) > 0 {
		return fmt.Errorf("the gate engine decided %d sampled stage(s) differently from stats.Test.Evaluate: %s",
			len(res.engine.mismatches), strings.Join(res.engine.mismatches, "; "))
	}
	return nil
}

// simulate draws every stage, lets every judge decide it, and runs the
// sample through the gate engine. dir holds the engine's TSDB and store.
func simulate(ctx context.Context, o options, dir string) (*results, error) {
	cfg, ed, err := loadPolicy()
	if err != nil {
		return nil, err
	}
	margin := ed.MarginPP / 100
	res := &results{families: families(), judges: judges(ed)}
	n := stageCount(o, len(res.families))
	res.stages = make([]*stage, n)
	res.decisions = make([][]decision, n)
	res.futileAt = make([]int, n)
	err = eachStage(ctx, o, len(res.families), func(n int, seed uint64, f, i int) {
		s := res.families[f].simulate(seed, f, i, margin)
		ds := make([]decision, len(res.judges))
		for j, jd := range res.judges {
			var v gate.Verdict
			var m int
			if jd.withHistory != nil {
				v, m = jd.withHistory(s.history, s.minutes)
			} else {
				v, m = jd.decide(s.minutes)
			}
			ds[j] = decision{verdict: v, minute: m, canary: s.canaryUpTo(m)}
		}
		res.stages[n], res.decisions[n] = s, ds
		res.futileAt[n] = futileAt(withHistory(errorDeltaTest(pocockOf(ed), horizon), s.history), s.minutes)
	})
	if err != nil {
		return nil, err
	}

	var sample []*stage
	for _, s := range res.stages {
		if s.seed == o.seeds[0] && s.index < o.engineStages {
			sample = append(sample, s)
		}
	}
	res.engine, err = engineCheck(ctx, dir, cfg, ed, sample)
	if err != nil {
		return nil, errors.Join(errors.New("engine cross-check"), err)
	}
	return res, nil
}

// stageCount is how many stages a run draws of `families` families.
func stageCount(o options, families int) int { return len(o.seeds) * families * o.stages }

// eachStage calls do for every stage of the run (each seed, family f and
// stage index i), on o.workers goroutines; n is the stage's place in the
// run, below stageCount. Stages are drawn from their own random streams,
// so the results do not depend on the order they run in. It stops
// handing out stages when ctx ends, and then returns ctx's error.
func eachStage(ctx context.Context, o options, families int, do func(n int, seed uint64, f, i int)) error {
	next := make(chan int)
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(func() {
			for n := range next {
				i := n % o.stages
				f := n / o.stages % families
				do(n, o.seeds[n/(o.stages*families)], f, i)
			}
		})
	}
	for n := range stageCount(o, families) {
		if ctx.Err() != nil {
			break
		}
		next <- n
	}
	close(next)
	wg.Wait()
	return ctx.Err()
}
