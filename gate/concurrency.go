package gate

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// Params of the concurrency limit.
const (
	// ParamCluster names the cluster the rollout patches; required when a
	// cluster limit is configured.
	ParamCluster = "cluster"
	// ParamHosts is how many of the cluster's hosts the rollout patches at
	// once; without it the latest stage_started event's hosts count.
	ParamHosts = "hosts"
)

// concurrencyRetry is the retry_after of an ask waiting in line.
const concurrencyRetry = 30

// waitingTTL is how long a replica reuses a rollout's place in line
// before it reads the line again: a third of the retry the waiter was
// told, so an admission is late by at most that, while a line of
// hundreds is read once per waiter every 10 s instead of every second
// (each read takes the line's lock and sorts it).
const waitingTTL = 10 * time.Second

// admission is a rollout's last admission, kept so that repeated asks do
// not take the store's lock every time (admissionTTL says for how long). A
// cached grant is safe to reuse: it is stored; a cached place in line only
// delays an admission by at most the TTL.
type admission struct {
	result CheckResult
	retry  int
	at     time.Time // wall clock
}

// unit is one rollout (service, patch, cluster) the limit counts.
type unit struct {
	key          store.SlotKey
	hosts        int
	start        time.Time // patching since
	lastActivity time.Time
}

// limits is the configured concurrency limit as it applies to one
// cluster ("" for asks that name none).
type limits struct {
	maxServices        int // fleet wide
	clusterMaxServices int
	hostsPercent       float64
	clusterHosts       int
}

func clusterLimits(c *config.Config, cluster string) limits {
	cc := c.Concurrency
	l := limits{maxServices: cc.MaxServices}
	if cluster == "" {
		return l
	}
	l.hostsPercent = cc.MaxClusterHostsPercent
	for _, cl := range cc.Clusters {
		if cl.Name == cluster {
			l.clusterMaxServices = cl.MaxServices
			if cl.MaxHostsPercent > 0 {
				l.hostsPercent = cl.MaxHostsPercent
			}
		}
	}
	if cl, ok := c.Cluster(cluster); ok {
		l.clusterHosts = cl.Hosts
	}
	return l
}

// rolloutParams reads and checks the request parameters the concurrency
// limit needs: the cluster (required when a cluster limit is configured)
// and how many hosts the rollout patches at once.
func rolloutParams(cfg *config.Config, req Request) (cluster string, hosts int, err error) {
	if cfg.Concurrency == nil {
		return "", 0, nil
	}
	cluster = req.Params[ParamCluster]
	clusterLimited := cfg.Concurrency.MaxClusterHostsPercent > 0 || len(cfg.Concurrency.Clusters) > 0
	switch {
	case cluster == "" && clusterLimited:
		return "", 0, &FieldError{Field: "params." + ParamCluster, Message: "is required by the concurrency limit per cluster"}
	case cluster != "":
		if _, ok := cfg.Cluster(cluster); !ok {
			return "", 0, &FieldError{Field: "params." + ParamCluster, Message: fmt.Sprintf("unknown cluster %q", cluster)}
		}
	}
	if v, ok := req.Params[ParamHosts]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", 0, &FieldError{Field: "params." + ParamHosts, Message: fmt.Sprintf("must be a whole number of hosts above 0, got %q", v)}
		}
		hosts = n
	}
	return cluster, hosts, nil
}

// concurrencyCheck admits the ask's rollout under the limit, or places it
// in line. It passes once the rollout holds a slot (or is patching by its
// events), and is inconclusive with the position in line otherwise.
type concurrencyCheck struct{ e *Engine }

func (concurrencyCheck) name() string { return "concurrency" }

func (c concurrencyCheck) run(ctx context.Context, l *look) CheckResult {
	r, retry, err := c.e.admitRollout(ctx, l)
	if err != nil {
		return CheckResult{Name: c.name(), err: err}
	}
	r.retry = retry
	r.state = controlState{verdict: r.Verdict, n: int(r.Details["position"])}
	return r
}

// admitRollout runs the admission in the store, or reuses this replica's
// last admission of the rollout for ControlsTTL.
func (e *Engine) admitRollout(ctx context.Context, l *look) (CheckResult, int, error) {
	cfg, now := e.cfg.Policy, l.now
	cluster, hosts := l.cluster, l.hosts
	key := store.SlotKey{Service: l.service.Name, PatchID: l.vars.PatchID, Cluster: cluster}

	ac := &e.controls.admissions
	if a, ok := ac.get(key); ok && time.Since(a.at) < admissionTTL(a.result.Verdict, e.controlsTTL()) {
		return a.result, a.retry, nil
	}

	lim := clusterLimits(cfg, cluster)
	cc := cfg.Concurrency
	var r CheckResult
	since := now.Add(-time.Duration(cc.StaleAfter))
	_, err := e.cfg.Store.Admit(ctx, key, hosts, now, since, func(own store.Slot, others []store.Slot, events []store.Event) (store.Slot, []store.SlotKey) {
		var drop []store.SlotKey
		own, r, drop = admit(own, others, events, lim, cc, now)
		return own, drop
	})
	if err != nil {
		return CheckResult{}, 0, fmt.Errorf("concurrency limit: %w", err)
	}
	retry := 0
	if r.Verdict != Pass {
		retry = concurrencyRetry
	}
	ac.put(key, admission{result: r, retry: retry, at: time.Now()})
	return r, retry, nil
}

// matches reports whether an event's or unit's cluster a covers b: an
// empty cluster covers every cluster.
func matches(a, b string) bool { return a == "" || b == "" || a == b }

// patching works out, from the lifecycle events and the granted slots,
// which rollouts are patching at now: from their first stage_started
// event (or their grant) until a deployed or rolled_back event, or until
// nothing has been heard of them for staleAfter.
func patching(slots []store.Slot, events []store.Event, now time.Time, staleAfter time.Duration) map[store.SlotKey]*unit {
	active := map[store.SlotKey]*unit{}
	for _, s := range slots {
		if !s.GrantedAt.IsZero() {
			active[s.SlotKey] = &unit{key: s.SlotKey, hosts: s.Hosts, start: s.GrantedAt, lastActivity: s.LastAsk}
		}
	}
	for _, ev := range events { // oldest first
		if ev.Service == "" {
			continue
		}
		k := store.SlotKey{Service: ev.Service, PatchID: ev.PatchID, Cluster: ev.Cluster}
		switch ev.Type {
		case store.EventStageStarted:
			u, ok := active[k]
			if !ok {
				u = &unit{key: k, start: ev.Time}
				active[k] = u
			}
			if ev.Hosts > 0 {
				u.hosts = ev.Hosts
			}
			if ev.Time.After(u.lastActivity) {
				u.lastActivity = ev.Time
			}
		case store.EventDeployed, store.EventRolledBack:
			for uk, u := range active {
				if uk.Service == k.Service && uk.PatchID == k.PatchID && matches(k.Cluster, uk.Cluster) && !ev.Time.Before(u.start) {
					delete(active, uk)
				}
			}
		}
	}
	for k, u := range active {
		if now.Sub(u.lastActivity) > staleAfter {
			delete(active, k)
		}
	}
	return active
}

// admit places own under the limits: it passes when own is patching or a
// place is free and no earlier waiter competing for the same limit is
// still waiting (first in line, first admitted).
func admit(own store.Slot, others []store.Slot, events []store.Event, l limits, cc *config.Concurrency, now time.Time) (store.Slot, CheckResult, []store.SlotKey) {
	all := append(others[:len(others):len(others)], own)
	active := patching(all, events, now, time.Duration(cc.StaleAfter))
	var drop []store.SlotKey
	for _, s := range others {
		_, live := active[s.SlotKey]
		abandoned := s.GrantedAt.IsZero() && now.Sub(s.LastAsk) > time.Duration(cc.QueueTimeout)
		if !s.GrantedAt.IsZero() && !live || abandoned {
			drop = append(drop, s.SlotKey)
		}
	}

	// Is own patching already (granted, or by its events)?
	for k := range active {
		if k.Service == own.Service && k.PatchID == own.PatchID && matches(k.Cluster, own.Cluster) {
			if own.GrantedAt.IsZero() {
				own.GrantedAt = now
			}
			return own, admittedResult(own, active, l), drop
		}
	}
	if !own.GrantedAt.IsZero() {
		// Its rollout ended (deployed, rolled back or stale): it queues anew.
		own.GrantedAt, own.QueuedAt = time.Time{}, now
	}

	// The line: waiting slots not abandoned, in order of first ask.
	var line []store.Slot
	for _, s := range others {
		if s.GrantedAt.IsZero() && now.Sub(s.LastAsk) <= time.Duration(cc.QueueTimeout) {
			line = append(line, s)
		}
	}
	line = append(line, own)
	sort.SliceStable(line, func(i, j int) bool {
		if !line[i].QueuedAt.Equal(line[j].QueuedAt) {
			return line[i].QueuedAt.Before(line[j].QueuedAt)
		}
		a, b := line[i].SlotKey, line[j].SlotKey
		return a.Service+"\x00"+a.PatchID+"\x00"+a.Cluster < b.Service+"\x00"+b.PatchID+"\x00"+b.Cluster
	})

	occ := occupancy(active, own.Cluster)
	blocked := map[string]bool{}
	position := 0
	for _, w := range line {
		mine := w.SlotKey == own.SlotKey
		if mine || l.maxServices > 0 || own.Cluster != "" && w.Cluster == own.Cluster {
			position++
		}
		scopes := occ.scopes(w, l)
		fits, never := occ.fits(w, l)
		if never && !mine {
			continue // it can never be admitted: it holds no one up
		}
		held := false
		for _, sc := range scopes {
			held = held || blocked[sc]
		}
		if mine {
			switch {
			case never:
				return own, neverFits(own, l), drop
			case fits && !held:
				own.GrantedAt = now
				return own, admittedResult(own, active, l), drop
			}
			return own, waitingResult(own, position, active, l, occ), drop
		}
		if fits && !held {
			occ.add(w) // its place is kept for it until it asks again
			continue
		}
		for _, sc := range scopes {
			blocked[sc] = true
		}
	}
	return own, waitingResult(own, position, active, l, occ), drop
}

// occupied counts who is patching, fleet wide and in one cluster.
type occupied struct {
	cluster         string
	services        map[string]bool
	clusterServices map[string]bool
	clusterHosts    int
}

func occupancy(active map[store.SlotKey]*unit, cluster string) *occupied {
	o := &occupied{cluster: cluster, services: map[string]bool{}, clusterServices: map[string]bool{}}
	for k, u := range active {
		o.services[k.Service] = true
		if cluster != "" && k.Cluster == cluster {
			o.clusterServices[k.Service] = true
			o.clusterHosts += u.hosts
		}
	}
	return o
}

func (o *occupied) add(s store.Slot) {
	o.services[s.Service] = true
	if o.cluster != "" && s.Cluster == o.cluster {
		o.clusterServices[s.Service] = true
		o.clusterHosts += s.Hosts
	}
}

// scopes are the limits s competes for.
func (o *occupied) scopes(s store.Slot, l limits) []string {
	var out []string
	if l.maxServices > 0 {
		out = append(out, "fleet")
	}
	if s.Cluster != "" && s.Cluster == o.cluster {
		out = append(out, "cluster")
	}
	return out
}

// fits reports whether s can be admitted now, and never when it cannot
// be admitted even into an idle cluster.
func (o *occupied) fits(s store.Slot, l limits) (fits, never bool) {
	if l.maxServices > 0 && !o.services[s.Service] && len(o.services) >= l.maxServices {
		return false, false
	}
	if s.Cluster == "" || s.Cluster != o.cluster {
		return true, false
	}
	if l.clusterMaxServices > 0 && !o.clusterServices[s.Service] && len(o.clusterServices) >= l.clusterMaxServices {
		return false, false
	}
	if l.hostsPercent > 0 {
		if s.Hosts <= 0 {
			return false, false
		}
		if 100*float64(s.Hosts) > l.hostsPercent*float64(l.clusterHosts) {
			return false, true
		}
		if 100*float64(o.clusterHosts+s.Hosts) > l.hostsPercent*float64(l.clusterHosts) {
			return false, false
		}
	}
	return true, false
}

func servicesOf(active map[store.SlotKey]*unit, cluster string) []string {
	seen := map[string]bool{}
	var out []string
	for k := range active {
		if (cluster == "" || k.Cluster == cluster) && !seen[k.Service] {
			seen[k.Service] = true
			out = append(out, k.Service)
		}
	}
	sort.Strings(out)
	return out
}

func admittedResult(own store.Slot, active map[store.SlotKey]*unit, l limits) CheckResult {
	services := servicesOf(active, "")
	n := len(services)
	if !slices.Contains(services, own.Service) {
		n++
	}
	parts := []string{fmt.Sprintf("%s may patch: %d service(s) patching", own.Service, n)}
	if l.maxServices > 0 {
		parts[0] += fmt.Sprintf(" (limit %d)", l.maxServices)
	}
	r := result("concurrency", Pass, "")
	r.Details = map[string]float64{"services_patching": float64(n)}
	if own.Cluster != "" {
		hosts := 0
		for k, u := range active {
			if k.Cluster == own.Cluster && k != own.SlotKey {
				hosts += u.hosts
			}
		}
		hosts += own.Hosts
		parts = append(parts, fmt.Sprintf("%s: %d of %d hosts patching", own.Cluster, hosts, l.clusterHosts))
		if l.hostsPercent > 0 {
			parts[len(parts)-1] += fmt.Sprintf(" (limit %g%%)", l.hostsPercent)
		}
		r.Details["cluster_hosts_patching"] = float64(hosts)
	}
	r.Sentence = strings.Join(parts, "; ")
	return r
}

func waitingResult(own store.Slot, position int, active map[store.SlotKey]*unit, l limits, o *occupied) CheckResult {
	var why []string
	services := servicesOf(active, "")
	if l.maxServices > 0 && len(services) >= l.maxServices {
		why = append(why, fmt.Sprintf("%d service(s) patching, the limit is %d (%s)", len(services), l.maxServices, strings.Join(services, ", ")))
	}
	if own.Cluster != "" {
		if cs := servicesOf(active, own.Cluster); l.clusterMaxServices > 0 && len(cs) >= l.clusterMaxServices {
			why = append(why, fmt.Sprintf("%d service(s) patching in %s, its limit is %d", len(cs), own.Cluster, l.clusterMaxServices))
		}
		if l.hostsPercent > 0 {
			if own.Hosts <= 0 {
				why = append(why, fmt.Sprintf("how many hosts of %s this rollout patches is unknown: send params.hosts or a stage_started event with hosts", own.Cluster))
			} else {
				why = append(why, fmt.Sprintf("%s has %d of %d hosts patching; %d more would pass the %g%% limit",
					own.Cluster, o.clusterHosts, l.clusterHosts, own.Hosts, l.hostsPercent))
			}
		}
	}
	if len(why) == 0 {
		why = append(why, "services that asked earlier go first")
	}
	r := result("concurrency", Inconclusive, fmt.Sprintf("number %d in line (first asked %s): %s",
		position, own.QueuedAt.UTC().Format(time.RFC3339), strings.Join(why, "; ")))
	r.Details = map[string]float64{"position": float64(position), "services_patching": float64(len(services))}
	return r
}

func neverFits(own store.Slot, l limits) CheckResult {
	return result("concurrency", Fail, fmt.Sprintf("patching %d hosts of %s at once is more than the %g%% limit of its %d hosts allows: patch it in smaller steps",
		own.Hosts, own.Cluster, l.hostsPercent, l.clusterHosts))
}

// admissionTTL is how long an admission is reused: a grant or a refusal
// for the controls' TTL, a place in line for waitingTTL (never longer
// than the controls' TTL when that is off).
func admissionTTL(v CheckVerdict, controls time.Duration) time.Duration {
	if v == Inconclusive && controls > 0 {
		return max(controls, waitingTTL)
	}
	return controls
}
