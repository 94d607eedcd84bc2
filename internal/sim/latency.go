package sim

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
)

// Latency is the duration of a service's requests: log-normal with the
// given median and 99th percentile, in seconds. A service with a Latency
// writes the classic histogram http_request_duration_seconds_bucket.
type Latency struct {
	Median, P99 float64
}

// LatencyBuckets are the histogram's finite bucket boundaries (seconds).
var LatencyBuckets = []float64{0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5}

// z99 is Φ⁻¹(0.99).
const z99 = 2.3263478740408408

// cdf is the share of requests at or below each boundary.
func (l Latency) cdf() []float64 {
	mu := math.Log(l.Median)
	sigma := math.Log(l.P99/l.Median) / z99
	out := make([]float64, len(LatencyBuckets))
	for i, le := range LatencyBuckets {
		out[i] = 0.5 * math.Erfc(-(math.Log(le)-mu)/(sigma*math.Sqrt2))
	}
	return out
}

func (l Latency) valid() bool {
	return l.Median > 0 && l.P99 > l.Median && !math.IsInf(l.P99, 1)
}

// SetPatchLatency makes hosts on patch answer with a 99th percentile of
// p99 seconds (the median stays the service's): a patch whose tail
// latency rises while its error rate stays flat.
func (f *Fleet) SetPatchLatency(patch string, p99 float64) {
	if f.patchP99 == nil {
		f.patchP99 = map[string]float64{}
	}
	f.patchP99[patch] = p99
}

// latencySamples draws the host's n requests of this step into buckets
// and returns its cumulative bucket counters.
func (f *Fleet) latencySamples(h *host, n float64, track string, t time.Time) []metricsource.Sample {
	l := *h.latency
	if p99, ok := f.patchP99[h.patch]; ok && h.patch != "" {
		l.P99 = p99
	}
	if h.buckets == nil {
		h.buckets = make([]float64, len(LatencyBuckets)+1)
	}
	// Multinomial by sequential binomials: each bucket takes its share of
	// the requests not yet placed.
	cdf := l.cdf()
	left, below := n, 0.0
	cum := 0.0
	for i, c := range cdf {
		p := 0.0
		if below < 1 {
			p = math.Min(1, math.Max(0, (c-below)/(1-below)))
		}
		k := f.binomial(left, p)
		left -= k
		cum += k
		h.buckets[i] += cum
		below = c
	}
	h.buckets[len(LatencyBuckets)] += n
	out := make([]metricsource.Sample, 0, len(h.buckets))
	for i, v := range h.buckets {
		le := "+Inf"
		if i < len(LatencyBuckets) {
			le = strconv.FormatFloat(LatencyBuckets[i], 'g', -1, 64)
		}
		out = append(out, metricsource.Sample{Labels: map[string]string{
			"__name__": "http_request_duration_seconds_bucket", "service": h.service, "cluster": h.cluster,
			"instance": h.name, "track": track, "le": le,
		}, T: t, V: v})
	}
	return out
}

func checkLatency(s ServiceSpec) error {
	if s.Latency != nil && !s.Latency.valid() {
		return fmt.Errorf("invalid configuration: service %s: latency needs 0 < median < p99, got %+v", s.Name, *s.Latency)
	}
	return nil
}
