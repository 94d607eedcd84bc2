package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/server"
)

// crowd is what n concurrent identical asks cost.
type crowd struct {
	asks int
	// oneSet is the queries one ask alone sends (on another stage
	// attempt); sent is what the n concurrent asks sent together.
	oneSet, sent int
	// warm is what the first ask of the stage window sent: one set and
	// the hour before the window.
	warm int
	// decisions is how many distinct decision ids the n answers carried,
	// recorded how many the store holds for their stage attempt.
	decisions, recorded int
}

// concurrentAsks asks once for one stage attempt to learn what one set of
// queries is (after a first attempt has read the stage window's history),
// then sends n identical asks for a fresh attempt at the same
// moment over HTTP (loopback, one connection each) and counts the queries
// the gate sent to src.
func concurrentAsks(ctx context.Context, dir string, src metricsource.Source, n int) (crowd, error) {
	counting := metricsource.NewCounting(src)
	g, err := newGate(ctx, dir, counting)
	if err != nil {
		return crowd{}, err
	}
	defer g.Close()
	url, stop, err := serve(g.server.Handler())
	if err != nil {
		return crowd{}, err
	}
	defer stop()
	client := &server.Client{URL: url, Token: token, HTTP: newClient(n)}

	// The first ask of a stage window also reads the hour before it (the
	// error_delta prior), once for every attempt with that window: warm
	// it, so that "solo" and the crowd both count one look's queries.
	if _, err := client.Gate(ctx, request("warm")); err != nil {
		return crowd{}, err
	}
	warm := counting.Count()
	counting.Reset()
	if _, err := client.Gate(ctx, request("solo")); err != nil {
		return crowd{}, err
	}
	c := crowd{asks: n, warm: warm, oneSet: counting.Count()}
	counting.Reset()

	ids := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			d, err := client.Gate(ctx, request("crowd"))
			ids[i], errs[i] = d.ID, err
		}()
	}
	time.Sleep(50 * time.Millisecond) // let every caller reach the start line
	close(start)
	wg.Wait()
	seen := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			return c, fmt.Errorf("ask %d of %d: %w", i+1, n, err)
		}
		seen[ids[i]] = true
	}
	c.sent, c.decisions = counting.Count(), len(seen)
	list, err := g.store.ListDecisions(ctx, store.Filter{Service: "checkout", PatchID: "crowd"})
	if err != nil {
		return c, err
	}
	c.recorded = len(list)
	return c, nil
}
