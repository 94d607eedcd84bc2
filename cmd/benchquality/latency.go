package main

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/patchgate/patchgate/gate/stats"
)

// The latency families judge the gate's latency_delta check: a request is
// slow when it took longer than latencyThreshold, and the canary's share
// of slow requests is compared with the baseline's. Each arm's latencies
// are log-normal; a minute's requests fall into Prometheus' default
// histogram buckets (client_golang's DefBuckets), which is all a gate
// (and the engine cross-check's TSDB) ever sees of them.

// latencyBounds are the finite bucket boundaries (le) in seconds; the
// +Inf bucket follows them.
var latencyBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// latencyThreshold is latency_delta's threshold, a bucket boundary (500ms).
const latencyThreshold = 0.5

// latencyStage is one simulated stage of a latency family: the stage the
// tallies read (minutes hold slow requests in the place of errors) and
// every minute's bucket counts of both arms, drawn before any gate looks.
type latencyStage struct {
	*stage
	// canary and baseline hold per minute the requests in each bucket
	// (not cumulative): index i counts latencies in (bound[i-1], bound[i]],
	// the last index the +Inf bucket.
	canary, baseline [][]float64
	// p99Limit is the fixed p99 threshold of this stage's service (see
	// latencyDesign.limit).
	p99Limit float64
}

// latencyFamily draws latency stages of one kind. margin is δ as a
// fraction of requests.
type latencyFamily struct {
	name, what string
	draw       func(r *rand.Rand, index int, margin float64) latencyDesign
}

// latencyDesign is a stage's design: each arm's traffic and slow share,
// the shared spread of log-latency, and how much the slow share scatters
// from minute to minute.
type latencyDesign struct {
	bad              bool
	canary, baseline float64 // mean requests a minute
	// canaryP and baselineP are the arms' shares of requests slower than
	// latencyThreshold; sigma is the standard deviation of log-latency.
	canaryP, baselineP, sigma float64
	// limitP is the slow share of a canary exactly at the margin, from
	// which the fixed p99 threshold is derived.
	limitP float64
	// concentration > 0 makes each arm's slow share in a minute
	// Beta-distributed around its mean with this concentration (the whole
	// distribution shifts from minute to minute: bursty latency); 0 keeps
	// it fixed.
	concentration float64
}

// baseSlowShare draws the baseline's slow share: 0.5%–5%, log-uniform
// (its p99 lies from well below to well above the threshold).
func baseSlowShare(r *rand.Rand) float64 { return logUniform(r, 0.005, 0.05) }

// latencySpread draws σ of log-latency: 0.5–1 (p99/p50 from 3× to 10×).
func latencySpread(r *rand.Rand) float64 { return uniform(r, 0.5, 1) }

func latencyShifted(name, what string, bad bool, diff func(margin float64) float64) latencyFamily {
	return latencyFamily{name: name, what: what, draw: func(r *rand.Rand, _ int, margin float64) latencyDesign {
		c, b := traffic(r)
		p := baseSlowShare(r)
		return latencyDesign{bad: bad, canary: c, baseline: b, canaryP: p + diff(margin), baselineP: p,
			sigma: latencySpread(r), limitP: p + margin}
	}}
}

func latencyFamilies() []latencyFamily {
	return []latencyFamily{
		latencyShifted("healthy", "canary latency distribution = baseline's", false, func(float64) float64 { return 0 }),
		latencyShifted("regression", "canary slow share = baseline's + 2δ (its whole distribution slower)", true, func(m float64) float64 { return 2 * m }),
		latencyShifted("within_margin", "canary slow share = baseline's + δ/2 (slower, within the margin: go is right)", false, func(m float64) float64 { return m / 2 }),
		{name: "bursty", what: "each arm's slow share per minute ~ Beta around its mean, concentration 30–300 (the distribution shifts minute by minute); half healthy, half +2δ",
			draw: func(r *rand.Rand, i int, margin float64) latencyDesign {
				bad, d := halfBad(i, margin)
				c, b := traffic(r)
				p := baseSlowShare(r)
				return latencyDesign{bad: bad, canary: c, baseline: b, canaryP: p + d, baselineP: p,
					sigma: latencySpread(r), limitP: p + margin, concentration: logUniform(r, 30, 300)}
			}},
	}
}

// bucketShares returns the share of requests in each bucket of a
// log-normal latency with spread sigma whose share above latencyThreshold
// is slow.
func bucketShares(slow, sigma float64) []float64 {
	mu := math.Log(latencyThreshold) - sigma*distuv.UnitNormal.Quantile(1-slow)
	out := make([]float64, len(latencyBounds)+1)
	prev := 0.0
	for i, le := range latencyBounds {
		cdf := distuv.UnitNormal.CDF((math.Log(le) - mu) / sigma)
		out[i] = cdf - prev
		prev = cdf
	}
	out[len(latencyBounds)] = 1 - prev
	return out
}

// limit is the fixed p99 threshold a team would set for this service
// knowing its latency exactly: the p99 histogram_quantile reads, on
// unlimited traffic, from a canary whose slow share is the baseline's + δ.
// It is the most favourable setting a fixed threshold can have.
func (d latencyDesign) limit() float64 {
	return bucketQuantile(0.99, bucketShares(d.limitP, d.sigma))
}

// simulate draws stage index of the family: its design from its own
// random stream (seed, family, index), then every minute's bucket counts.
func (f latencyFamily) simulate(seed uint64, familyIndex, index int, margin float64) *latencyStage {
	// The high bit keeps the streams apart from the error families'.
	r := rand.New(rand.NewPCG(seed, 1<<63|uint64(familyIndex)<<32|uint64(index)))
	d := f.draw(r, index, margin)
	s := &latencyStage{
		stage:  &stage{family: f.name, seed: seed, index: index, bad: d.bad, canaryPerMinute: d.canary, minutes: make([]stats.Minute, horizon)},
		canary: make([][]float64, horizon), baseline: make([][]float64, horizon),
		p99Limit: d.limit(),
	}
	for i := range horizon {
		s.canary[i] = multinomial(r, poisson(r, d.canary), bucketShares(d.share(r, d.canaryP), d.sigma))
		s.baseline[i] = multinomial(r, poisson(r, d.baseline), bucketShares(d.share(r, d.baselineP), d.sigma))
		ct, cs := totalAndSlow(s.canary[i])
		bt, bs := totalAndSlow(s.baseline[i])
		s.minutes[i] = stats.Minute{CanaryTotal: ct, CanaryErrors: cs, BaselineTotal: bt, BaselineErrors: bs}
	}
	return s
}

// share returns the minute's slow share: p, or a Beta draw around p for
// bursty latency.
func (d latencyDesign) share(r *rand.Rand, p float64) float64 {
	if d.concentration <= 0 {
		return p
	}
	v := distuv.Beta{Alpha: p * d.concentration, Beta: (1 - p) * d.concentration, Src: r}.Rand()
	// Keep the quantile finite; a minute at 0 or 1 is beyond any real
	// service.
	return math.Min(math.Max(v, 1e-9), 1-1e-9)
}

// multinomial spreads n requests over buckets with the given shares, by
// conditional binomials.
func multinomial(r *rand.Rand, n float64, shares []float64) []float64 {
	out := make([]float64, len(shares))
	left, rest := n, 1.0
	for i, p := range shares {
		if left <= 0 {
			break
		}
		if i == len(shares)-1 || rest <= p {
			out[i] = left
			break
		}
		k := binomial(r, left, math.Min(1, p/rest))
		out[i] = k
		left -= k
		rest -= p
	}
	return out
}

// totalAndSlow reads a minute's requests and those slower than
// latencyThreshold off its buckets.
func totalAndSlow(buckets []float64) (total, slow float64) {
	for i, n := range buckets {
		total += n
		if i == len(latencyBounds) || latencyBounds[i] > latencyThreshold {
			slow += n
		}
	}
	return total, slow
}

// bucketQuantile is histogram_quantile over per-bucket counts (the last
// the +Inf bucket): linear within the bucket that holds the rank, the
// lowest bucket starting at 0, and the highest finite boundary when the
// rank falls in +Inf. NaN without requests, as Prometheus returns it.
func bucketQuantile(q float64, buckets []float64) float64 {
	var total float64
	for _, n := range buckets {
		total += n
	}
	if !(total > 0) {
		return math.NaN()
	}
	rank := q * total
	below, start := 0.0, 0.0
	for i, n := range buckets {
		if i == len(latencyBounds) {
			return latencyBounds[len(latencyBounds)-1]
		}
		if below+n >= rank && n > 0 {
			return start + (latencyBounds[i]-start)*(rank-below)/n
		}
		below += n
		start = latencyBounds[i]
	}
	return latencyBounds[len(latencyBounds)-1]
}
