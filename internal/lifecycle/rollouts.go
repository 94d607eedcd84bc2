package lifecycle

import (
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

// progressStale is how long after its last stage_started or promoted event
// a rollout that went on past a no_go still counts as progressing.
const progressStale = 24 * time.Hour

// rolloutKey is one rollout of a patch: a service in a cluster ("" when
// the events name none).
type rolloutKey struct{ service, cluster string }

// isRolloutEvent reports whether an event moves a rollout.
func isRolloutEvent(typ string) bool {
	switch typ {
	case store.EventStageStarted, store.EventPromoted, store.EventDeployed, store.EventRolledBack:
		return true
	}
	return false
}

// later reports whether a happened after b: by time, then by store order.
func later(a, b store.Event) bool {
	return a.Time.After(b.Time) || a.Time.Equal(b.Time) && a.Seq > b.Seq
}

// latestRolloutEvents returns the newest rollout event of each rollout of
// the patch, skipping events without a service.
func (p *patch) latestRolloutEvents(keep func(store.Event) bool) map[rolloutKey]store.Event {
	out := map[rolloutKey]store.Event{}
	for _, e := range p.events {
		if e.Service == "" || !isRolloutEvent(e.Type) || keep != nil && !keep(e) {
			continue
		}
		k := rolloutKey{e.Service, e.Cluster}
		if l, ok := out[k]; !ok || later(e, l) {
			out[k] = e
		}
	}
	return out
}

// rolledBack sets the time of the rollback of every rollout whose newest
// rollout event is rolled_back: the rollout should have left the patch.
func rolledBack(s *Snapshot, patches map[string]*patch, order []string) {
	for _, id := range order {
		for k, e := range patches[id].latestRolloutEvents(nil) {
			if e.Type == store.EventRolledBack {
				s.set(RolledBackAt, float64(e.Time.UnixMilli())/1000, k.service, k.cluster, id)
			}
		}
	}
}

// progressAfterNoGo counts, for every rollout still progressing past an
// unacknowledged no_go, its stage_started and promoted events since then.
// The no_go is the newest one of the service and patch (decisions come
// newest first); a later go (the gate, or an override through it, let the
// rollout on) acknowledges it. A rollout that was rolled back or deployed
// since, or has not moved for progressStale, is not progressing.
func progressAfterNoGo(s *Snapshot, decisions []store.Decision, patches map[string]*patch, now time.Time) {
	type rollout struct{ service, patch string }
	done := map[rollout]bool{}
	for _, d := range decisions {
		r := rollout{d.Service, d.PatchID}
		if done[r] {
			continue
		}
		switch d.Verdict {
		case "go":
			done[r] = true
			continue
		case "no_go":
			done[r] = true
		default:
			continue
		}
		p := patches[d.PatchID]
		if p == nil {
			continue
		}
		after := func(e store.Event) bool { return e.Service == d.Service && e.Time.After(d.EvaluatedAt) }
		latest := p.latestRolloutEvents(after)
		for k, last := range latest {
			if last.Type != store.EventStageStarted && last.Type != store.EventPromoted || now.Sub(last.Time) > progressStale {
				continue
			}
			// A rollback of the whole service (no cluster) after the no_go
			// stops every cluster's rollout that has not moved since.
			if whole, ok := latest[rolloutKey{k.service, ""}]; ok && k.cluster != "" && whole.Type == store.EventRolledBack && later(whole, last) {
				continue
			}
			n := 0
			for _, e := range p.events {
				if after(e) && e.Cluster == k.cluster && (e.Type == store.EventStageStarted || e.Type == store.EventPromoted) {
					n++
				}
			}
			s.set(ProgressAfterNoGo, float64(n), k.service, k.cluster, d.PatchID)
		}
	}
}
