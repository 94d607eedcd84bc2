package slo

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slok/sloth/pkg/lib"
	promv1 "github.com/slok/sloth/pkg/prometheus/api/v1"

	"github.com/patchgate/patchgate/internal/config"
)

// benchConfig is n services with one SLO each, their periods taking turns
// over the four patchgate generates rules for.
func benchConfig(b *testing.B, n int) *config.Config {
	b.Helper()
	periods := []string{"30d", "28d", "7d", "90d"}
	var s strings.Builder
	s.WriteString("source: {type: embedded}\nservices:\n")
	for i := range n {
		fmt.Fprintf(&s, `  - name: svc-%05d
    team: team-%d
    sli:
      errors: sum(rate(http_requests_total{service="svc-%05[1]d",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="svc-%05[1]d"}[{{.window}}]))
    slo: {objective: 99.9, period: %[3]s}
    stages: [{name: canary}]
`, i, i%20, periods[i%len(periods)])
	}
	cfg, err := config.Parse("bench.yaml", []byte(s.String()))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// peakHeap runs f while sampling the live heap (as marked by the last
// garbage collection, so garbage awaiting collection does not count) every
// millisecond, and returns the largest seen above the live heap before f.
func peakHeap(f func() error) (uint64, error) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	peak := base
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				peak = max(peak, read())
			}
		}
	}()
	err := f()
	close(stop)
	wg.Wait()
	peak = max(peak, read())
	return peak - base, err
}

// BenchmarkRules generates the rules of 1,000 and 10,000 SLOs with
// patchgate (config → Sloth specs → Sloth → rules files, handed over one
// service at a time) and, in the same iteration, with Sloth's library called
// directly on the same specs, and reports both (wall and CPU seconds),
// patchgate's overhead ratio (CPU) and the peak live heap of each. Both
// run once untimed first, and take turns going first. Run it with
// `make bench-rules`.
func BenchmarkRules(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("slos=%d", n), func(b *testing.B) {
			cfg := benchConfig(b, n)
			specs := make([]promv1.Spec, n)
			periods := make([]time.Duration, n)
			for i := range cfg.Services {
				specs[i] = ServiceSpec(&cfg.Services[i])
				periods[i] = time.Duration(cfg.Services[i].SLO.Period)
			}
			var pgBytes, slothBytes int
			patchgate := func() error {
				pgBytes = 0
				return NewGenerator(GeneratorConfig{}).Files(ctx, cfg, FilesConfig{}, func(f File) error {
					pgBytes += len(f.Data)
					return nil
				})
			}
			sloth := func() error {
				slothBytes = 0
				gens := map[time.Duration]*lib.PrometheusSLOGenerator{}
				for i, spec := range specs {
					g, ok := gens[periods[i]]
					if !ok {
						var err error
						g, err = lib.NewPrometheusSLOGenerator(lib.PrometheusSLOGeneratorConfig{WindowsFS: windowsCatalogue(), DefaultSLOPeriod: periods[i]})
						if err != nil {
							return err
						}
						gens[periods[i]] = g
					}
					res, err := g.GenerateFromSlothV1(ctx, spec)
					if err != nil {
						return err
					}
					w := &countingWriter{}
					if err := g.WriteResultAsPrometheusStd(ctx, *res, w); err != nil {
						return err
					}
					slothBytes += w.n
				}
				return nil
			}
			type side struct {
				run       func() error
				wall, cpu time.Duration
				peak      uint64
			}
			sides := []*side{{run: patchgate}, {run: sloth}}
			for _, sd := range sides { // warm up: first-use costs of the process
				if err := sd.run(); err != nil {
					b.Fatal(err)
				}
			}
			turn := 0
			for b.Loop() {
				for k := range sides {
					sd := sides[(turn+k)%len(sides)]
					start, cpu0 := time.Now(), cpuTime()
					peak, err := peakHeap(sd.run)
					if err != nil {
						b.Fatal(err)
					}
					sd.cpu += cpuTime() - cpu0
					sd.wall += time.Since(start)
					sd.peak = max(sd.peak, peak)
				}
				turn++
			}
			iters := float64(b.N)
			pg, sl := sides[0], sides[1]
			b.ReportMetric(pg.wall.Seconds()/iters, "patchgate-s/op")
			b.ReportMetric(sl.wall.Seconds()/iters, "sloth-s/op")
			b.ReportMetric(pg.cpu.Seconds()/iters, "patchgate-cpu-s/op")
			b.ReportMetric(sl.cpu.Seconds()/iters, "sloth-cpu-s/op")
			b.ReportMetric(pg.cpu.Seconds()/sl.cpu.Seconds(), "overhead-ratio")
			b.ReportMetric(float64(pg.peak)/(1<<20), "patchgate-peak-MiB")
			b.ReportMetric(float64(sl.peak)/(1<<20), "sloth-peak-MiB")
			b.ReportMetric(float64(pgBytes)/(1<<20), "rules-MiB")
			if slothBytes == 0 || pgBytes < slothBytes {
				b.Fatalf("patchgate wrote %d bytes, Sloth %d: not the same work", pgBytes, slothBytes)
			}
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
