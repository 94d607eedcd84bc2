package lifecycle

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/patchgate/patchgate/internal/store"
)

// DisclosedAtLabel is the event label holding a vulnerability's public
// disclosure time (RFC 3339), the start of time-to-discover and of the
// exposure window.
const DisclosedAtLabel = "disclosed_at"

// An event's time may lie at most MaxEventAge before and MaxEventSkew after
// its receipt; the server refuses others, and Compute ignores any stored
// before that rule (a zero time, a wrong year), which would skew every
// duration and the exposure window for as long as they are exported.
const (
	MaxEventAge  = 10 * 365 * 24 * time.Hour
	MaxEventSkew = 5 * time.Minute
)

// EarliestDisclosure is the earliest disclosed_at accepted: the start of
// the CVE list. Vulnerabilities may be older than MaxEventAge when found.
var EarliestDisclosure = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)

// EventTimeRange returns the times an event received at received may carry.
func EventTimeRange(received time.Time) (earliest, latest time.Time) {
	return received.Add(-MaxEventAge), received.Add(MaxEventSkew)
}

// inRange reports whether t lies in [earliest, latest].
func inRange(t, earliest, latest time.Time) bool { return !t.Before(earliest) && !t.After(latest) }

// plausible reports whether a stored event's names and times are ones the
// server accepts today: names without control characters (they would
// become label values), times in EventTimeRange of the receipt. Events
// without a receipt time (tests, imports) are judged by their names only.
func plausible(e store.Event) bool {
	for _, name := range []string{e.PatchID, e.Service, e.Cluster, e.Stage, e.Severity} {
		if strings.ContainsFunc(name, unicode.IsControl) || !utf8.ValidString(name) {
			return false
		}
	}
	if e.ReceivedAt.IsZero() {
		return true
	}
	earliest, latest := EventTimeRange(e.ReceivedAt)
	return inRange(e.Time, earliest, latest)
}

// disclosure reads an event's disclosed_at label, if it holds a plausible
// time.
func disclosure(e store.Event) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, e.Labels[DisclosedAtLabel])
	if err != nil {
		return time.Time{}, false
	}
	latest := e.Time.Add(MaxEventSkew)
	if !e.ReceivedAt.IsZero() {
		latest = e.ReceivedAt.Add(MaxEventSkew)
	}
	return t, inRange(t, EarliestDisclosure, latest)
}

// histogram is one histogram series.
type histogram struct {
	labels  []string
	count   uint64
	sum     float64
	buckets map[float64]uint64 // cumulative, by upper bound
}

// value is one counter or gauge series.
type value struct {
	labels []string
	v      float64
}

// Snapshot is every lifecycle series at one moment.
type Snapshot struct {
	hists  map[string]map[string]*histogram // metric → label values → series
	values map[string]map[string]*value
}

func newSnapshot() *Snapshot {
	return &Snapshot{hists: map[string]map[string]*histogram{}, values: map[string]map[string]*value{}}
}

func (s *Snapshot) observe(metric string, bounds []float64, v float64, labels ...string) {
	m := s.hists[metric]
	if m == nil {
		m = map[string]*histogram{}
		s.hists[metric] = m
	}
	k := strings.Join(labels, "\xff")
	h := m[k]
	if h == nil {
		h = &histogram{labels: labels, buckets: make(map[float64]uint64, len(bounds))}
		for _, b := range bounds {
			h.buckets[b] = 0
		}
		m[k] = h
	}
	h.count++
	h.sum += v
	for _, b := range bounds {
		if v <= b {
			h.buckets[b]++
		}
	}
}

func (s *Snapshot) add(metric string, v float64, labels ...string) {
	m := s.values[metric]
	if m == nil {
		m = map[string]*value{}
		s.values[metric] = m
	}
	k := strings.Join(labels, "\xff")
	if x := m[k]; x != nil {
		x.v += v
		return
	}
	m[k] = &value{labels: labels, v: v}
}

func (s *Snapshot) set(metric string, v float64, labels ...string) {
	s.add(metric, 0, labels...)
	s.values[metric][strings.Join(labels, "\xff")].v = v
}

// Value returns a counter or gauge's value for the label values, and
// whether the series exists.
func (s *Snapshot) Value(metric string, labels ...string) (float64, bool) {
	x, ok := s.values[metric][strings.Join(labels, "\xff")]
	if !ok {
		return 0, false
	}
	return x.v, true
}

// Observations returns a histogram's count and sum for the label values.
func (s *Snapshot) Observations(metric string, labels ...string) (count uint64, sum float64) {
	h, ok := s.hists[metric][strings.Join(labels, "\xff")]
	if !ok {
		return 0, 0
	}
	return h.count, h.sum
}

// ComputeConfig holds what Compute needs besides the records.
type ComputeConfig struct {
	Now time.Time
	// ActiveFor is how recent a rollout's latest decision must be for the
	// rollout to count as active.
	ActiveFor time.Duration
}

// patch gathers one patch's events, in the order they were stored.
type patch struct {
	events    []store.Event
	severity  string
	disclosed time.Time
}

type pairKey struct{ service, cluster string }

// Compute derives every lifecycle series from the stored events and the
// latest decisions (newest first, as the store lists them). "First" always
// means first stored (lowest Seq), so a series' past observations never
// change when events arrive late: histograms and counters only grow.
func Compute(events []store.Event, decisions []store.Decision, cfg ComputeConfig) *Snapshot {
	s := newSnapshot()
	events = slices.Clone(events)
	slices.SortFunc(events, func(a, b store.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	patches := map[string]*patch{}
	var order []string
	for _, e := range events {
		if !plausible(e) {
			continue
		}
		p := patches[e.PatchID]
		if p == nil {
			p = &patch{}
			patches[e.PatchID] = p
			order = append(order, e.PatchID)
		}
		p.events = append(p.events, e)
		if p.severity == "" && e.Severity != "" {
			p.severity = e.Severity
		}
		if p.disclosed.IsZero() {
			if t, ok := disclosure(e); ok {
				p.disclosed = t
			}
		}
	}
	exposure := map[string]float64{}
	for _, sev := range severities() {
		exposure[sev] = 0
	}
	for _, id := range order {
		p := patches[id]
		sev := knownSeverity(p.severity)
		p.durations(s, sev)
		p.counts(s, sev)
		if x := Exposure(p.events); x.Open && !x.Since.IsZero() {
			exposure[sev] = max(exposure[sev], cfg.Now.Sub(x.Since).Seconds())
			cveExposure(s, id, sev, p.events, cfg.Now.Sub(x.Since).Seconds())
		}
	}
	for sev, v := range exposure {
		s.set(ExposureWindow, v, sev)
	}
	canaryDeltas(s, decisions, patches, cfg)
	rolledBack(s, patches, order)
	progressAfterNoGo(s, decisions, patches, cfg.Now)
	return s
}

// first returns the first stored event of a type, matching keep.
func (p *patch) first(typ string, keep func(store.Event) bool) (store.Event, bool) {
	for _, e := range p.events {
		if e.Type == typ && (keep == nil || keep(e)) {
			return e, true
		}
	}
	return store.Event{}, false
}

// durations observes time to discover, test, deploy and roll back.
func (p *patch) durations(s *Snapshot, sev string) {
	discovered, found := p.first(store.EventDiscovered, nil)
	if found && !p.disclosed.IsZero() {
		if d := discovered.Time.Sub(p.disclosed); d >= 0 {
			s.observe(TimeToDiscover, durationBuckets(), d.Seconds(), sev)
		}
	}
	tested := map[string]bool{}
	deployed := map[pairKey]bool{}
	for _, e := range p.events {
		switch e.Type {
		case store.EventTested:
			if !found || tested[e.Service] {
				continue
			}
			tested[e.Service] = true
			if d := e.Time.Sub(discovered.Time); d >= 0 {
				s.observe(TimeToTest, durationBuckets(), d.Seconds(), sev, e.Service)
			}
		case store.EventDeployed:
			k := pairKey{e.Service, e.Cluster}
			if !found || deployed[k] {
				continue
			}
			deployed[k] = true
			if d := e.Time.Sub(discovered.Time); d >= 0 {
				s.observe(TimeToDeploy, durationBuckets(), d.Seconds(), sev, e.Service, e.Cluster)
			}
		}
	}
}

// rollbackKey is what makes two rolled_back events the same rollback.
type rollbackKey struct{ service, cluster, stage, attempt string }

// counts counts incidents and rollbacks, and observes time to roll back.
func (p *patch) counts(s *Snapshot, sev string) {
	seen := map[rollbackKey]bool{}
	for _, e := range p.events {
		switch e.Type {
		case store.EventIncident:
			s.add(Incidents, 1, sev, e.Service, e.Cluster)
		case store.EventRolledBack:
			k := rollbackKey{e.Service, e.Cluster, e.Stage, e.Attempt}
			if seen[k] {
				continue
			}
			seen[k] = true
			s.add(Rollbacks, 1, e.Service, e.Cluster)
			if start, ok := p.stageStart(e); ok {
				if d := e.Time.Sub(start); d >= 0 {
					s.observe(TimeToRollback, rollbackBuckets(), d.Seconds(), sev, e.Service, e.Cluster)
				}
			}
		}
	}
}

// stageStart is the start of the stage a rollback ended: the latest
// stage_started event stored before it for the same service, and the same
// cluster, stage and attempt where both events name them.
func (p *patch) stageStart(rb store.Event) (time.Time, bool) {
	same := func(a, b string) bool { return a == "" || b == "" || a == b }
	var start time.Time
	for _, e := range p.events {
		if e.Seq >= rb.Seq {
			break
		}
		if e.Type != store.EventStageStarted || e.Service != rb.Service || e.Time.After(rb.Time) ||
			!same(e.Cluster, rb.Cluster) || !same(e.Stage, rb.Stage) || !same(e.Attempt, rb.Attempt) {
			continue
		}
		if e.Time.After(start) {
			start = e.Time
		}
	}
	return start, !start.IsZero()
}

// PatchExposure is what the exposure rule says of one patch.
type PatchExposure struct {
	// Open: some service or cluster its rollout touched did not end with
	// deployed, or nothing was rolled out yet.
	Open bool
	// Since is when the exposure started: the disclosure (the
	// DisclosedAtLabel of its first event that has one), else its first
	// discovered event, else its earliest event.
	Since time.Time
	// Severity is the first one its events give ("critical", "high",
	// "medium", "low"), else "unknown".
	Severity string
	// Pending lists the services not yet deployed everywhere, sorted:
	// every service its events name while nothing was rolled out.
	Pending []string
}

// Exposure applies the exposure rule to one patch's events, in the order
// they were stored. A patch is closed once every service and cluster its
// rollout touched (stage_started, promoted, deployed, rolled_back events)
// ended with deployed; a deployed event without a cluster covers the
// service's clusters until then. A patch with only discovered or tested
// events is open. The exposure window gauge and the report's open patches
// both read it.
func Exposure(events []store.Event) PatchExposure {
	var (
		out                   PatchExposure
		severity              string
		disclosed, discovered time.Time
	)
	services := map[string]bool{}
	for _, e := range events {
		if out.Since.IsZero() || e.Time.Before(out.Since) {
			out.Since = e.Time
		}
		if severity == "" {
			severity = e.Severity
		}
		if disclosed.IsZero() {
			if t, ok := disclosure(e); ok {
				disclosed = t
			}
		}
		if discovered.IsZero() && e.Type == store.EventDiscovered {
			discovered = e.Time
		}
		if e.Service != "" {
			services[e.Service] = true
		}
	}
	if !discovered.IsZero() {
		out.Since = discovered
	}
	if !disclosed.IsZero() {
		out.Since = disclosed
	}
	out.Severity = knownSeverity(severity)
	p := patch{events: events}
	latest := p.latestRolloutEvents(nil)
	waiting := map[string]bool{}
	if len(latest) == 0 {
		// Nothing rolled out yet: every service it names is pending.
		waiting = services
	}
	for k, l := range latest {
		if whole, ok := latest[rolloutKey{k.service, ""}]; ok && k.cluster != "" && whole.Type == store.EventDeployed && !whole.Time.Before(l.Time) {
			continue
		}
		if l.Type != store.EventDeployed {
			waiting[k.service] = true
		}
	}
	out.Pending = slices.Sorted(maps.Keys(waiting))
	if out.Pending == nil {
		out.Pending = []string{}
	}
	out.Open = len(latest) == 0 || len(waiting) > 0
	return out
}

// decisionBody is the part of a recorded answer the canary gauge reads.
type decisionBody struct {
	Checks []struct {
		Name     string             `json:"name"`
		Observed *float64           `json:"observed"`
		Details  map[string]float64 `json:"details"`
	} `json:"checks"`
}

// canaryDeltas sets the canary error delta of every active rollout: the
// newest decision of each service and patch, if recent and not followed by
// a rollback, with an observed error_delta (in percentage points); and
// from latency_delta the slow-share delta and both arms' p99.
func canaryDeltas(s *Snapshot, decisions []store.Decision, patches map[string]*patch, cfg ComputeConfig) {
	type rollout struct{ service, patch string }
	seen := map[rollout]bool{}
	for _, d := range decisions {
		r := rollout{d.Service, d.PatchID}
		if seen[r] {
			continue
		}
		seen[r] = true
		if cfg.Now.Sub(d.EvaluatedAt) > cfg.ActiveFor {
			continue
		}
		if p := patches[d.PatchID]; p != nil {
			if _, rolledBack := p.first(store.EventRolledBack, func(e store.Event) bool {
				return e.Service == d.Service && !e.Time.Before(d.EvaluatedAt)
			}); rolledBack {
				continue
			}
		}
		var body decisionBody
		if err := json.Unmarshal(d.Body, &body); err != nil {
			continue
		}
		for _, c := range body.Checks {
			switch {
			case c.Name == "error_delta" && c.Observed != nil:
				s.set(CanaryErrorDelta, *c.Observed/100, d.Service, d.PatchID, d.Stage)
			case c.Name == "latency_delta" && c.Observed != nil:
				s.set(CanaryLatencyDelta, *c.Observed/100, d.Service, d.PatchID, d.Stage)
				for _, track := range []string{"canary", "baseline"} {
					if v, ok := c.Details[track+"_p99"]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
						s.set(CanaryLatencyP99, v, d.Service, d.PatchID, d.Stage, track)
					}
				}
			}
		}
	}
}
