package backtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/gate"
)

// Prefetch is a gate.Querier that answers the gate's queries of one stage
// from range queries over the stage's looks: each distinct query is run
// once, as a range query with step 1m from the first look to the last, and
// an instant query at a look (or a range query over looks) is answered
// from it. A range query evaluates the instant query at each step, so the
// answers are the ones instant queries would have got. Queries off the
// grid go to the source as asked.
type Prefetch struct {
	src         gate.Querier
	first, last time.Time

	mu      sync.Mutex
	queries map[string]*fetched
}

type fetched struct {
	once sync.Once
	mat  model.Matrix
	err  error
}

// NewPrefetch answers from src over the grid first, first+1m, …, last.
func NewPrefetch(src gate.Querier, first, last time.Time) *Prefetch {
	return &Prefetch{src: src, first: first, last: last, queries: map[string]*fetched{}}
}

// onGrid reports whether t is one of the grid's instants.
func (p *Prefetch) onGrid(t time.Time) bool {
	return !t.Before(p.first) && !t.After(p.last) && t.Sub(p.first)%time.Minute == 0
}

func (p *Prefetch) fetch(ctx context.Context, q string) (model.Matrix, error) {
	p.mu.Lock()
	f, ok := p.queries[q]
	if !ok {
		f = &fetched{}
		p.queries[q] = f
	}
	p.mu.Unlock()
	f.once.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				f.err = fmt.Errorf("internal error: panic: %v", r)
			}
		}()
		f.mat, f.err = p.src.QueryRange(ctx, q, p.first, p.last, time.Minute)
	})
	return f.mat, f.err
}

// Query answers an instant query at a look from the range query.
func (p *Prefetch) Query(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	if !p.onGrid(ts) {
		return p.src.Query(ctx, q, ts)
	}
	mat, err := p.fetch(ctx, q)
	if err != nil {
		return nil, err
	}
	at := model.TimeFromUnixNano(ts.UnixNano())
	var out model.Vector
	for _, s := range mat {
		for _, v := range s.Values {
			if v.Timestamp == at {
				out = append(out, &model.Sample{Metric: s.Metric, Value: v.Value, Timestamp: at})
				break
			}
		}
	}
	return out, nil
}

// QueryRange answers a range query over looks from the range query.
func (p *Prefetch) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	if step != time.Minute || !p.onGrid(start) || !p.onGrid(end) {
		return p.src.QueryRange(ctx, q, start, end, step)
	}
	mat, err := p.fetch(ctx, q)
	if err != nil {
		return nil, err
	}
	from, to := model.TimeFromUnixNano(start.UnixNano()), model.TimeFromUnixNano(end.UnixNano())
	var out model.Matrix
	for _, s := range mat {
		var vs []model.SamplePair
		for _, v := range s.Values {
			if v.Timestamp >= from && v.Timestamp <= to {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			out = append(out, &model.SampleStream{Metric: s.Metric, Values: vs})
		}
	}
	return out, nil
}

// Queries is how many range queries were sent to the source.
func (p *Prefetch) Queries() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queries)
}

// Warm fetches queries concurrently, so that the looks that follow find
// them fetched instead of waiting for each in turn.
func (p *Prefetch) Warm(ctx context.Context, queries []string) {
	var wg sync.WaitGroup
	for _, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = p.fetch(ctx, q) // an error is kept for the look that asks
		}()
	}
	wg.Wait()
}

// discovery is a Querier that records the queries asked and answers each
// with one series of 1s, so that every check goes on to ask all it would:
// a replay learns its stage's queries from one look without waiting on
// the source.
type discovery struct {
	mu      sync.Mutex
	seen    map[string]bool
	queries []string
}

func (d *discovery) note(q string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	if !d.seen[q] {
		d.seen[q] = true
		d.queries = append(d.queries, q)
	}
}

func (d *discovery) Query(_ context.Context, q string, ts time.Time) (model.Vector, error) {
	d.note(q)
	return model.Vector{{Metric: model.Metric{}, Value: 1, Timestamp: model.TimeFromUnixNano(ts.UnixNano())}}, nil
}

func (d *discovery) QueryRange(_ context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	d.note(q)
	s := &model.SampleStream{Metric: model.Metric{}}
	for t := start; !t.After(end); t = t.Add(step) {
		s.Values = append(s.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: 1})
	}
	return model.Matrix{s}, nil
}
