package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/patchgate/patchgate/internal/metricsource"
)

// footprint is the memory the gate holds for its active stage attempts.
type footprint struct {
	attempts int
	// perAttempt is the growth of the live Go heap per active attempt,
	// measured after a GC with `attempts` attempts answered and kept
	// against the same gate with one.
	perAttempt float64
	// answerBytes is the size of one answer as JSON, for scale.
	answerBytes int
}

// memoryPerAttempt answers one ask for each of n stage attempts (n active
// rollouts of the service, each at its first look) and measures the live
// heap before and after (runtime.MemStats.HeapAlloc after runtime.GC).
func memoryPerAttempt(ctx context.Context, dir string, src metricsource.Source, n int) (footprint, error) {
	g, err := newGate(ctx, dir, src)
	if err != nil {
		return footprint{}, err
	}
	defer g.Close()
	// The first answer warms every lazily built structure (query engine,
	// store statements, boundaries).
	d, err := g.engine.Decide(ctx, request("warm"))
	if err != nil {
		return footprint{}, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return footprint{}, err
	}
	before := liveHeap()
	for i := range n {
		if _, err := g.engine.Decide(ctx, request(fmt.Sprintf("rollout-%d", i))); err != nil {
			return footprint{}, err
		}
	}
	after := liveHeap()
	runtime.KeepAlive(g)
	return footprint{attempts: n, perAttempt: float64(int64(after)-int64(before)) / float64(n), answerBytes: len(b)}, nil
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
