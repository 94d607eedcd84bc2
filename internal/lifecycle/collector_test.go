package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/patchgate/patchgate/internal/store"
)

// t0 is when the first patch is discovered.
var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

// timeline is three patches' events, each with its own idempotency key:
//
//	openssl (critical, disclosed 6h before discovery): tested by checkout
//	after 30h; its canary in eu-west-1 rolled back 45 minutes after it
//	started (reported twice, by two tools), with an incident; the second
//	attempt deployed at 60h; us-east-1 started at 61h and is still going,
//	so the patch is open.
//	curl (high): deployed to checkout (all clusters) 10h after discovery:
//	closed.
//	kernel (no severity given): only discovered, at 70h: open.
func timeline() []store.Event {
	disclosed := map[string]string{DisclosedAtLabel: at(-6).Format(time.RFC3339)}
	es := []store.Event{
		{PatchID: "openssl", Type: store.EventDiscovered, Time: at(0), Severity: "critical", Labels: disclosed},
		{PatchID: "openssl", Type: store.EventDiscovered, Time: at(-1)}, // a second report, stored later: not the first
		{PatchID: "openssl", Type: store.EventTested, Time: at(30), Service: "checkout"},
		{PatchID: "openssl", Type: store.EventStageStarted, Time: at(40), Service: "checkout", Cluster: "eu-west-1", Stage: "canary", Attempt: "1"},
		{PatchID: "openssl", Type: store.EventIncident, Time: at(40.5), Service: "checkout", Cluster: "eu-west-1"},
		{PatchID: "openssl", Type: store.EventRolledBack, Time: at(40.75), Service: "checkout", Cluster: "eu-west-1", Stage: "canary", Attempt: "1"},
		{PatchID: "openssl", Type: store.EventRolledBack, Time: at(40.8), Service: "checkout", Cluster: "eu-west-1", Stage: "canary", Attempt: "1"},
		{PatchID: "openssl", Type: store.EventStageStarted, Time: at(50), Service: "checkout", Cluster: "eu-west-1", Stage: "canary", Attempt: "2"},
		{PatchID: "openssl", Type: store.EventDeployed, Time: at(60), Service: "checkout", Cluster: "eu-west-1"},
		{PatchID: "openssl", Type: store.EventStageStarted, Time: at(61), Service: "checkout", Cluster: "us-east-1", Stage: "canary"},
		{PatchID: "curl", Type: store.EventDiscovered, Time: at(10), Severity: "high"},
		{PatchID: "curl", Type: store.EventStageStarted, Time: at(12), Service: "checkout", Cluster: "eu-west-1", Stage: "canary"},
		{PatchID: "curl", Type: store.EventDeployed, Time: at(20), Service: "checkout"},
		{PatchID: "kernel", Type: store.EventDiscovered, Time: at(70)},
	}
	for i := range es {
		es[i].IdempotencyKey = fmt.Sprintf("key-%d", i)
	}
	return es
}

// now is when the metrics are read.
var now = at(72)

// decisions are the gate's latest answers, newest first.
func decisions() []store.Decision {
	body := func(observed string) []byte {
		return fmt.Appendf(nil, `{"decision":"wait","checks":[{"name":"min_traffic","observed":5000},{"name":"error_delta","observed":%s},`+
			`{"name":"latency_delta","observed":2.5,"details":{"canary_p99":0.6,"baseline_p99":0.2,"canary_slow":40}}]}`, observed)
	}
	return []store.Decision{
		{Service: "search", PatchID: "kernel", Stage: "100pct", EvaluatedAt: now.Add(-time.Minute), Body: body("null")},
		{Service: "checkout", PatchID: "openssl", Stage: "canary", EvaluatedAt: now.Add(-2 * time.Minute), Body: body("0.8")},
		{Service: "checkout", PatchID: "openssl", Stage: "canary", EvaluatedAt: now.Add(-3 * time.Minute), Body: body("0.1")},
		{Service: "payments", PatchID: "curl", Stage: "canary", EvaluatedAt: now.Add(-2 * time.Hour), Body: body("0.3")},
	}
}

// memory is a Records held in memory, storing events as the store does
// (one per patch and idempotency key, numbered in order).
type memory struct {
	events    []store.Event
	decisions []store.Decision
	err       error
}

func (m *memory) append(es ...store.Event) {
	for _, e := range es {
		dup := false
		for _, x := range m.events {
			dup = dup || x.PatchID == e.PatchID && x.IdempotencyKey == e.IdempotencyKey
		}
		if !dup {
			e.Seq = int64(len(m.events) + 1)
			m.events = append(m.events, e)
		}
	}
}

func (m *memory) ListEvents(context.Context, store.EventFilter) ([]store.Event, error) {
	return m.events, m.err
}

func (m *memory) ListDecisions(context.Context, store.Filter) ([]store.Decision, error) {
	return m.decisions, m.err
}

func newCollector(t *testing.T, r Records, clock func() time.Time) *Collector {
	t.Helper()
	c, err := NewCollector(CollectorConfig{Store: r, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const counterAndGauges = `
# HELP patchgate_canary_error_delta_ratio Canary error ratio minus the baseline's in the latest gate decision of each active rollout.
# TYPE patchgate_canary_error_delta_ratio gauge
patchgate_canary_error_delta_ratio{patch_id="openssl",service="checkout",stage="canary"} 0.008
# HELP patchgate_canary_latency_delta_ratio Canary share of requests slower than latency_delta's threshold minus the baseline's, in the latest gate decision of each active rollout.
# TYPE patchgate_canary_latency_delta_ratio gauge
patchgate_canary_latency_delta_ratio{patch_id="kernel",service="search",stage="100pct"} 0.025
patchgate_canary_latency_delta_ratio{patch_id="openssl",service="checkout",stage="canary"} 0.025
# HELP patchgate_canary_latency_p99 p99 latency of the canary and the baseline (track) over the stage window, in the unit of latency_delta's histogram, in the latest gate decision of each active rollout.
# TYPE patchgate_canary_latency_p99 gauge
patchgate_canary_latency_p99{patch_id="kernel",service="search",stage="100pct",track="baseline"} 0.2
patchgate_canary_latency_p99{patch_id="kernel",service="search",stage="100pct",track="canary"} 0.6
patchgate_canary_latency_p99{patch_id="openssl",service="checkout",stage="canary",track="baseline"} 0.2
patchgate_canary_latency_p99{patch_id="openssl",service="checkout",stage="canary",track="canary"} 0.6
# HELP patchgate_patch_incidents_total Patch-induced incidents: incident events.
# TYPE patchgate_patch_incidents_total counter
patchgate_patch_incidents_total{cluster="eu-west-1",service="checkout",severity="critical"} 1
# HELP patchgate_patch_rollbacks_total Rollbacks: rolled_back events, one per patch, service, cluster, stage and attempt.
# TYPE patchgate_patch_rollbacks_total counter
patchgate_patch_rollbacks_total{cluster="eu-west-1",service="checkout"} 1
# HELP patchgate_vulnerability_exposure_window_seconds Age in seconds of the oldest open patch of each severity (0 when none is open).
# TYPE patchgate_vulnerability_exposure_window_seconds gauge
patchgate_vulnerability_exposure_window_seconds{severity="critical"} 280800
patchgate_vulnerability_exposure_window_seconds{severity="high"} 0
patchgate_vulnerability_exposure_window_seconds{severity="low"} 0
patchgate_vulnerability_exposure_window_seconds{severity="medium"} 0
patchgate_vulnerability_exposure_window_seconds{severity="unknown"} 7200
`

func TestCollectorCountersAndGauges(t *testing.T) {
	m := &memory{decisions: decisions()}
	m.append(timeline()...)
	c := newCollector(t, m, func() time.Time { return now })
	// The exposure window of openssl runs from its disclosure, 78 hours
	// ago; the kernel patch names no severity and was found 2 hours ago.
	if err := testutil.CollectAndCompare(c, strings.NewReader(counterAndGauges),
		CanaryErrorDelta, CanaryLatencyDelta, CanaryLatencyP99, Incidents, Rollbacks, ExposureWindow); err != nil {
		t.Error(err)
	}
}

// histogramOf gathers c and returns one histogram series.
func histogramOf(t *testing.T, c prometheus.Collector, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			if len(got) != len(labels) {
				continue
			}
			return m.GetHistogram()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return nil
}

func TestCollectorHistograms(t *testing.T) {
	m := &memory{decisions: decisions()}
	m.append(timeline()...)
	c := newCollector(t, m, func() time.Time { return now })
	cases := []struct {
		name   string
		labels map[string]string
		count  uint64
		sum    float64
		// within is the upper bound of the bucket holding every
		// observation, below is the bound just under it (0 below none).
		within, below float64
	}{
		{TimeToDiscover, map[string]string{"severity": "critical"}, 1, 6 * 3600, 12 * 3600, 4 * 3600},
		{TimeToTest, map[string]string{"severity": "critical", "service": "checkout"}, 1, 30 * 3600, 48 * 3600, 24 * 3600},
		{TimeToDeploy, map[string]string{"severity": "critical", "service": "checkout", "cluster": "eu-west-1"}, 1, 60 * 3600, 72 * 3600, 48 * 3600},
		{TimeToDeploy, map[string]string{"severity": "high", "service": "checkout", "cluster": ""}, 1, 10 * 3600, 12 * 3600, 4 * 3600},
		{TimeToRollback, map[string]string{"severity": "critical", "service": "checkout", "cluster": "eu-west-1"}, 1, 45 * 60, 60 * 60, 30 * 60},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := histogramOf(t, c, tc.name, tc.labels)
			if h.GetSampleCount() != tc.count || h.GetSampleSum() != tc.sum {
				t.Fatalf("count %d sum %v, want %d and %v", h.GetSampleCount(), h.GetSampleSum(), tc.count, tc.sum)
			}
			for _, b := range h.GetBucket() {
				switch b.GetUpperBound() {
				case tc.within:
					if b.GetCumulativeCount() != tc.count {
						t.Errorf("bucket le=%v holds %d, want %d", tc.within, b.GetCumulativeCount(), tc.count)
					}
				case tc.below:
					if b.GetCumulativeCount() != 0 {
						t.Errorf("bucket le=%v holds %d, want 0", tc.below, b.GetCumulativeCount())
					}
				}
			}
		})
	}
}

// TestCollectorServesLastGoodValues: a store that cannot be read does not
// break the scrape: the last values stay, and the error is counted.
func TestCollectorServesLastGoodValues(t *testing.T) {
	m := &memory{}
	m.append(timeline()...)
	clock := now
	c := newCollector(t, m, func() time.Time { return clock })
	if got := testutil.ToFloat64(collectorOnly(c, Rollbacks)); got != 1 {
		t.Fatalf("rollbacks %v, want 1", got)
	}
	m.err = errors.New("database is locked")
	clock = clock.Add(time.Minute)
	if got := testutil.ToFloat64(collectorOnly(c, Rollbacks)); got != 1 {
		t.Errorf("rollbacks %v after a failed read, want the last value 1", got)
	}
	if got := testutil.ToFloat64(collectorOnly(c, ReadErrors)); got != 2 {
		t.Errorf("read errors %v, want 2 (one per scrape since the store failed)", got)
	}
}

// collectorOnly keeps one metric of c.
type filtered struct {
	c    *Collector
	name string
}

func collectorOnly(c *Collector, name string) prometheus.Collector { return filtered{c, name} }

func (f filtered) Describe(ch chan<- *prometheus.Desc) { ch <- f.c.descs[f.name] }

func (f filtered) Collect(ch chan<- prometheus.Metric) {
	all := make(chan prometheus.Metric)
	go func() {
		f.c.Collect(all)
		close(all)
	}()
	for m := range all {
		if strings.Contains(m.Desc().String(), `"`+f.name+`"`) {
			ch <- m
		}
	}
}

// TestCollectorCaches: scrapes within CacheFor cost one read.
func TestCollectorCaches(t *testing.T) {
	m := &counting{memory: &memory{}}
	clock := now
	c := newCollector(t, m, func() time.Time { return clock })
	for range 3 {
		testutil.CollectAndCount(c)
	}
	clock = clock.Add(11 * time.Second)
	testutil.CollectAndCount(c)
	if m.reads != 2 {
		t.Errorf("%d reads of the store for 4 scrapes over 11s, want 2", m.reads)
	}
}

type counting struct {
	*memory
	reads int
}

func (c *counting) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	c.reads++
	return c.memory.ListEvents(ctx, f)
}
