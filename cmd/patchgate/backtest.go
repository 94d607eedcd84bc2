package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/patchgate/patchgate/backtest"
	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

const backtestUsage = "usage: patchgate backtest --config patchgate.yaml (--stages STAGES.csv | --from T --to T) --out DIR [--compare OTHER.yaml]"

// runBacktest replays a policy over past stages. It exits 2 for a bad
// config or flags, 1 when a row was bad or could not be replayed (the
// others still run), 0 otherwise, whatever the verdicts.
func runBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("backtest", stderr)
	path := fs.String("config", "patchgate.yaml", "the policy to replay (its metric source holds the past)")
	stagesPath := fs.String("stages", "", "CSV of past stages: service,patch_id,stage,started_at[,ended_at][,PARAM...]")
	fromFlag := fs.String("from", "", "without --stages: replay the stage attempts the store recorded from this time (RFC 3339)")
	toFlag := fs.String("to", "", "with --from: until this time (RFC 3339; default now)")
	out := fs.String("out", "", "folder for backtest.json, backtest.csv and backtest.html")
	comparePath := fs.String("compare", "", "a second policy replayed over the same stages and the same data")
	workers := fs.Int("workers", 4, "stages replayed at once")
	if err := parse(fs, args); err != nil {
		return exitError, err
	}
	if *out == "" {
		return exitError, errors.New("--out is required (" + backtestUsage + ")")
	}
	if (*stagesPath == "") == (*fromFlag == "") {
		return exitError, errors.New("give --stages, or --from (and --to) to replay the stages the store recorded (" + backtestUsage + ")")
	}
	if *workers < 1 {
		return exitError, fmt.Errorf("--workers must be at least 1, got %d", *workers)
	}
	load := config.LoadWithoutSecrets
	if *fromFlag != "" {
		load = config.Load // the store's DSN may be a secret
	}
	cfg, err := load(*path)
	if err != nil {
		return exitError, err
	}
	var other *config.Config
	if *comparePath != "" {
		if other, err = config.LoadWithoutSecrets(*comparePath); err != nil {
			return exitError, fmt.Errorf("--compare: %w", err)
		}
	}

	var (
		stages  []backtest.Stage
		rowErrs []error
	)
	if *stagesPath != "" {
		f, err := os.Open(*stagesPath)
		if err != nil {
			return exitError, err
		}
		stages, rowErrs = backtest.ReadStages(*stagesPath, f)
		f.Close()
	} else {
		if stages, err = recordedStages(ctx, cfg, *fromFlag, *toFlag); err != nil {
			return exitError, err
		}
	}
	for _, e := range rowErrs {
		fmt.Fprintln(stderr, e)
	}
	src, err := openSource(cfg.Source)
	if err != nil {
		return exitError, err
	}
	defer src.Close()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return exitError, err
	}

	notes := backtest.Notes(cfg)
	for _, n := range notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	total := len(stages)
	if other != nil {
		total *= 2
	}
	progress := newProgress(stderr, total)
	verdicts, errs := backtest.Run(ctx, backtest.Config{Policy: cfg, Source: src, Workers: *workers, Progress: progress.step}, stages)
	var compared []backtest.Verdict
	var compareErrs []error
	if other != nil {
		compared, compareErrs = backtest.Run(ctx, backtest.Config{Policy: other, Source: src, Workers: *workers, Progress: progress.step}, stages)
	}

	failed := len(rowErrs)
	var results []backtest.Result
	for i, s := range stages {
		where := fmt.Sprintf("%s %s %s started %s", s.Service, s.PatchID, s.Stage, s.StartedAt.UTC().Format(time.RFC3339))
		if s.Line > 0 {
			where = fmt.Sprintf("%s:%d", *stagesPath, s.Line)
		}
		if errs[i] != nil {
			fmt.Fprintf(stderr, "%s: %v\n", where, errs[i])
			failed++
			continue
		}
		r := backtest.Result{Service: s.Service, PatchID: s.PatchID, Stage: s.Stage, StartedAt: s.StartedAt,
			Params: s.Params, Verdict: verdicts[i], Line: s.Line, RolledBack: s.RolledBack}
		if !s.EndedAt.IsZero() {
			end := s.EndedAt
			r.EndedAt = &end
		}
		if other != nil {
			if compareErrs[i] != nil {
				fmt.Fprintf(stderr, "%s: --compare: %v\n", where, compareErrs[i])
				failed++
				continue
			}
			c := compared[i]
			r.Compare = &c
		}
		results = append(results, r)
	}
	rep := backtest.Report{Results: results, Summary: backtest.Summarise(results, failed, notes)}
	if rep.Results == nil {
		rep.Results = []backtest.Result{}
	}
	for _, w := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"backtest.json", func(w io.Writer) error { return backtest.WriteJSON(w, rep) }},
		{"backtest.csv", func(w io.Writer) error { return backtest.WriteCSV(w, rep) }},
		{"backtest.html", func(w io.Writer) error { return backtest.WriteHTML(w, rep, time.Now()) }},
	} {
		if err := writeReportAtomic(filepath.Join(*out, w.name), w.write); err != nil {
			return exitError, err
		}
	}
	if err := backtest.WriteTable(stdout, rep); err != nil {
		return exitError, err
	}
	fmt.Fprintf(stdout, "wrote %s, %s and %s\n", filepath.Join(*out, "backtest.json"), filepath.Join(*out, "backtest.csv"), filepath.Join(*out, "backtest.html"))
	if failed > 0 {
		return exitProblems, fmt.Errorf("%d row(s) could not be replayed", failed)
	}
	return exitOK, nil
}

// backtestProgress prints how far a long run is, at most every two seconds.
type backtestProgress struct {
	w     io.Writer
	total int
	start time.Time
	mu    sync.Mutex
	done  int
	last  time.Time
}

func newProgress(w io.Writer, total int) *backtestProgress {
	return &backtestProgress{w: w, total: total, start: time.Now()}
}

func (p *backtestProgress) step(int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	now := time.Now()
	if p.done < p.total && now.Sub(p.last) < 2*time.Second {
		return
	}
	p.last = now
	left := time.Duration(float64(now.Sub(p.start)) / float64(p.done) * float64(p.total-p.done)).Round(time.Second)
	fmt.Fprintf(p.w, "backtest: %d of %d stage replays done (%d%%), about %s left\n", p.done, p.total, 100*p.done/max(p.total, 1), left)
}

// recordedStages are the stage attempts the configured store recorded
// decisions for in [from, to].
func recordedStages(ctx context.Context, cfg *config.Config, fromText, toText string) ([]backtest.Stage, error) {
	from, err := time.Parse(time.RFC3339, fromText)
	if err != nil {
		return nil, fmt.Errorf("--from %q: want an RFC 3339 time", fromText)
	}
	to := time.Now()
	if toText != "" {
		if to, err = time.Parse(time.RFC3339, toText); err != nil {
			return nil, fmt.Errorf("--to %q: want an RFC 3339 time", toText)
		}
	}
	if !to.After(from) {
		return nil, errors.New("--to must be after --from")
	}
	st, err := openStore(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return storedStages(ctx, st, from, to)
}

// stageRecords is what storedStages reads of the store.
type stageRecords interface {
	ListDecisions(ctx context.Context, f store.Filter) ([]store.Decision, error)
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
}

// storedStages are the stage attempts with decisions in [from, to] (of the
// newest store.MaxLimit decisions), with their windows' starts, each
// marked when its rollout was rolled back or tied to an incident later.
func storedStages(ctx context.Context, st stageRecords, from, to time.Time) ([]backtest.Stage, error) {
	ds, err := st.ListDecisions(ctx, store.Filter{Limit: store.MaxLimit})
	if err != nil {
		return nil, err
	}
	type key = store.AttemptKey
	seen := map[key]int{}
	var stages []backtest.Stage
	for i := len(ds) - 1; i >= 0; i-- { // oldest first
		d := ds[i]
		if d.EvaluatedAt.Before(from) || d.EvaluatedAt.After(to) {
			continue
		}
		k := key{Service: d.Service, PatchID: d.PatchID, Stage: d.Stage, Attempt: d.Attempt}
		if _, ok := seen[k]; ok {
			continue
		}
		var body gate.Decision
		if err := json.Unmarshal(d.Body, &body); err != nil || body.Window.Start.IsZero() {
			continue
		}
		seen[k] = len(stages)
		stages = append(stages, backtest.Stage{Service: d.Service, PatchID: d.PatchID, Stage: d.Stage,
			StartedAt: body.Window.Start, Params: map[string]string{gate.ParamAttempt: d.Attempt}})
	}
	for _, typ := range []string{store.EventRolledBack, store.EventIncident} {
		es, err := st.ListEvents(ctx, store.EventFilter{Type: typ, Since: from})
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			for i := range stages {
				s := &stages[i]
				if s.Service == e.Service && s.PatchID == e.PatchID && !e.Time.Before(s.StartedAt) {
					s.RolledBack = true
				}
			}
		}
	}
	return stages, nil
}
