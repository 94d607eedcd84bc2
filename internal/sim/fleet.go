// Package sim is a simulated fleet for the demo and the benchmarks: hosts
// of several services in several clusters serve requests, some of them on a
// patch being rolled out, and their request counters are written into a
// metric source on a simulated clock.
package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
)

// Appender receives the fleet's samples (metricsource.Embedded does).
type Appender interface {
	Append(ctx context.Context, samples []metricsource.Sample) error
}

// ServiceSpec is one simulated service.
type ServiceSpec struct {
	Name string
	// HostsPerCluster is how many hosts serve it in each cluster.
	HostsPerCluster int
	// RequestsPerSecond is the service's whole traffic.
	RequestsPerSecond float64
	// ErrorRate is the unpatched error ratio.
	ErrorRate float64
	// Latency, when set, is the unpatched request duration; the service
	// then writes http_request_duration_seconds_bucket (latency.go).
	Latency *Latency
}

// Config describes the fleet.
type Config struct {
	Clusters []string
	Services []ServiceSpec
	// Step is the scrape interval (default 15s).
	Step time.Duration
	Seed uint64
}

// Fleet is the simulated fleet. It is not safe for concurrent use.
type Fleet struct {
	step      time.Duration
	now       time.Time
	rng       *rand.Rand
	hosts     []*host
	byService map[string][]*host
	rollouts  map[string]*rollout
	inventory inventory          // the fleet input series (inventory.go)
	patchP99  map[string]float64 // a patch's 99th percentile latency (latency.go)
}

type host struct {
	service, cluster, name string
	rps                    float64 // this host's share of the service traffic
	baseErrors             float64
	patch                  string
	patchErrors            float64
	requests, errors       float64 // counters
	latency                *Latency
	buckets                []float64 // cumulative bucket counters, LatencyBuckets then +Inf
}

type rollout struct {
	patch     string
	errorRate float64
	share     float64
}

// New builds a fleet whose clock starts at start.
func New(cfg Config, start time.Time) (*Fleet, error) {
	if len(cfg.Clusters) == 0 || len(cfg.Services) == 0 {
		return nil, fmt.Errorf("invalid configuration: a fleet needs clusters and services")
	}
	if cfg.Step <= 0 {
		cfg.Step = 15 * time.Second
	}
	f := &Fleet{
		step:      cfg.Step,
		now:       start,
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		byService: map[string][]*host{},
		rollouts:  map[string]*rollout{},
	}
	for _, s := range cfg.Services {
		if s.HostsPerCluster <= 0 {
			return nil, fmt.Errorf("invalid configuration: service %s has no hosts", s.Name)
		}
		if err := checkLatency(s); err != nil {
			return nil, err
		}
		n := s.HostsPerCluster * len(cfg.Clusters)
		for _, c := range cfg.Clusters {
			for i := range s.HostsPerCluster {
				h := &host{
					service: s.Name, cluster: c,
					name:       fmt.Sprintf("%s-%s-%02d", s.Name, c, i+1),
					rps:        s.RequestsPerSecond / float64(n),
					baseErrors: s.ErrorRate,
					latency:    s.Latency,
				}
				f.hosts = append(f.hosts, h)
				f.byService[s.Name] = append(f.byService[s.Name], h)
			}
		}
	}
	return f, nil
}

// Now is the simulated time.
func (f *Fleet) Now() time.Time { return f.now }

// Hosts is the number of hosts in the fleet.
func (f *Fleet) Hosts() int { return len(f.hosts) }

// SetRollout puts share (0..1) of the service's hosts in every cluster on
// patch, whose hosts fail errorRate of their requests. Hosts on the patch
// report track="canary", the others track="baseline".
func (f *Fleet) SetRollout(service, patch string, share, errorRate float64) error {
	hosts, ok := f.byService[service]
	if !ok {
		return fmt.Errorf("unknown service %q", service)
	}
	f.rollouts[service] = &rollout{patch: patch, errorRate: errorRate, share: share}
	perCluster := map[string][]*host{}
	for _, h := range hosts {
		perCluster[h.cluster] = append(perCluster[h.cluster], h)
	}
	for _, hs := range perCluster {
		n := int(math.Ceil(share * float64(len(hs))))
		for i, h := range hs {
			if i < n {
				h.patch, h.patchErrors = patch, errorRate
			} else {
				h.patch = ""
			}
		}
	}
	return nil
}

// Rollback takes every host of the service off its patch.
func (f *Fleet) Rollback(service string) error {
	r, ok := f.rollouts[service]
	if !ok {
		return fmt.Errorf("no rollout for service %q", service)
	}
	return f.SetRollout(service, r.patch, 0, r.errorRate)
}

// Patched returns how many of the service's hosts run a patch.
func (f *Fleet) Patched(service string) (patched, total int) {
	for _, h := range f.byService[service] {
		if h.patch != "" {
			patched++
		}
	}
	return patched, len(f.byService[service])
}

// Step advances the clock by one scrape interval and writes every host's
// counters at the new time.
func (f *Fleet) Step(ctx context.Context, app Appender) error {
	f.now = f.now.Add(f.step)
	samples := make([]metricsource.Sample, 0, 2*len(f.hosts))
	for _, h := range f.hosts {
		p := h.baseErrors
		track := "baseline"
		if h.patch != "" {
			p, track = h.patchErrors, "canary"
		}
		n := f.poisson(h.rps * f.step.Seconds())
		e := f.binomial(n, p)
		h.requests += n
		h.errors += e
		base := map[string]string{"service": h.service, "cluster": h.cluster, "instance": h.name, "track": track}
		samples = append(samples,
			sample(base, "http_requests_total", "200", h.requests-h.errors, f.now),
			sample(base, "http_requests_total", "500", h.errors, f.now),
		)
		if h.latency != nil {
			samples = append(samples, f.latencySamples(h, n, track, f.now)...)
		}
	}
	samples = append(samples, f.inventorySamples(f.now)...)
	return app.Append(ctx, samples)
}

// Run steps until the clock has advanced by d.
func (f *Fleet) Run(ctx context.Context, app Appender, d time.Duration) error {
	end := f.now.Add(d)
	for f.now.Before(end) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.Step(ctx, app); err != nil {
			return err
		}
	}
	return nil
}

func sample(base map[string]string, name, code string, v float64, t time.Time) metricsource.Sample {
	ls := make(map[string]string, len(base)+2)
	for k, v := range base {
		ls[k] = v
	}
	ls["__name__"], ls["code"] = name, code
	return metricsource.Sample{Labels: ls, T: t, V: v}
}

// poisson draws a Poisson count (normal approximation above λ = 50).
func (f *Fleet) poisson(lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*f.rng.NormFloat64()))
	}
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= f.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// binomial draws Binomial(n, p) (normal approximation when n·p·(1−p) > 25).
func (f *Fleet) binomial(n, p float64) float64 {
	if n <= 0 || p <= 0 {
		return 0
	}
	if v := n * p * (1 - p); v > 25 {
		return math.Min(n, math.Max(0, math.Round(n*p+math.Sqrt(v)*f.rng.NormFloat64())))
	}
	if n*p < 30 && n > 200 {
		return math.Min(n, f.poisson(n*p))
	}
	k := 0.0
	for range int(n) {
		if f.rng.Float64() < p {
			k++
		}
	}
	return k
}
