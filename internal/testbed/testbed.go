// Package testbed builds what the gate runs on in tests and benchmarks:
// made-up request traffic, an embedded metric source holding it, and a
// SQLite store, each in a temporary folder that goes when the test ends.
package testbed

import (
	"context"
	"maps"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/store"
)

// Step is how far apart Requests writes samples, as a 15 s scrape would.
const Step = 15 * time.Second

// Traffic is one track's requests to a service: RPS requests a second, a
// share ErrorRatio of them failing.
type Traffic struct {
	Service string
	Track   string // the track label: "canary", "baseline"
	RPS     float64
	// ErrorRatio is the share of requests answered with code 500; the
	// rest are 200.
	ErrorRatio float64
	// From and To bound the samples, both included.
	From, To time.Time
	// Labels are more labels on every series (e.g. host).
	Labels map[string]string
	// NaN writes NaN for every sample, as a broken exporter would.
	NaN bool
}

// Requests returns the http_requests_total counters of traffic, codes 200
// and 500, one sample every Step from From to To, as exact increments.
func Requests(traffic ...Traffic) []metricsource.Sample {
	var out []metricsource.Sample
	for _, tr := range traffic {
		var ok, bad float64
		series := map[string]map[string]string{}
		for _, code := range []string{"200", "500"} {
			l := map[string]string{"__name__": "http_requests_total", "service": tr.Service, "track": tr.Track, "code": code}
			maps.Copy(l, tr.Labels)
			series[code] = l
		}
		for ts := tr.From; !ts.After(tr.To); ts = ts.Add(Step) {
			ok += tr.RPS * Step.Seconds() * (1 - tr.ErrorRatio)
			bad += tr.RPS * Step.Seconds() * tr.ErrorRatio
			vOK, vBad := ok, bad
			if tr.NaN {
				vOK, vBad = math.NaN(), math.NaN()
			}
			out = append(out,
				metricsource.Sample{Labels: series["200"], T: ts, V: vOK},
				metricsource.Sample{Labels: series["500"], T: ts, V: vBad})
		}
	}
	return out
}

// OpenSource opens an embedded source in dir holding samples. The caller
// closes it.
func OpenSource(ctx context.Context, dir string, samples []metricsource.Sample) (*metricsource.Embedded, error) {
	src, err := metricsource.NewEmbedded(metricsource.EmbeddedConfig{Dir: dir})
	if err != nil {
		return nil, err
	}
	if len(samples) > 0 {
		if err := src.Append(ctx, samples); err != nil {
			src.Close()
			return nil, err
		}
	}
	return src, nil
}

// Source opens an embedded source in a temporary folder of t, holding
// samples and closed when t ends.
func Source(t testing.TB, samples ...metricsource.Sample) *metricsource.Embedded {
	t.Helper()
	src, err := OpenSource(t.Context(), t.TempDir(), samples)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// Store opens a new SQLite store in a temporary folder of t, closed when
// t ends.
func Store(t testing.TB) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "gate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
