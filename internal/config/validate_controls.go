package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// applyControlDefaults fills the defaults of the concurrency limits.
func applyControlDefaults(c *Config, set func(path string) bool) {
	if cc := c.Concurrency; cc != nil {
		if !set("concurrency.queue_timeout") {
			cc.QueueTimeout = DefaultQueueTimeout
		}
		if !set("concurrency.stale_after") {
			cc.StaleAfter = DefaultStaleAfter
		}
	}
}

// validateOperatorControls checks clusters, windows, freezes, the
// emergency policy and the concurrency limits.
func validateOperatorControls(c *Config, p *collector) {
	clusters := map[string]int{}
	for i, cl := range c.Clusters {
		path := fmt.Sprintf("clusters[%d]", i)
		switch first, dup := clusters[cl.Name]; {
		case cl.Name == "":
			p.addf(path+".name", "required")
		case !serviceNameRE.MatchString(cl.Name):
			p.addf(path+".name", "must match %s, got %q", serviceNamePattern, cl.Name)
		case dup:
			p.addf(path+".name", "%q is already the name of clusters[%d]", cl.Name, first)
		default:
			clusters[cl.Name] = i
		}
		if cl.Hosts <= 0 {
			p.addf(path+".hosts", "must be greater than 0, got %d", cl.Hosts)
		}
	}
	validateControls(&c.Controls, "controls", p)
	for i := range c.Services {
		if sc := c.Services[i].Controls; sc != nil {
			validateControls(sc, fmt.Sprintf("services[%d].controls", i), p)
		}
	}
	if c.Concurrency != nil {
		validateConcurrency(c.Concurrency, clusters, p)
	}
}

func validateControls(c *Controls, path string, p *collector) {
	for i, w := range c.Windows {
		validateWeekly(path+fmt.Sprintf(".windows[%d]", i), w.Weekdays, w.Start, w.End, w.TimeZone, p)
	}
	for i := range c.Freezes {
		f := &c.Freezes[i]
		fp := path + fmt.Sprintf(".freezes[%d]", i)
		if strings.TrimSpace(f.Reason) == "" {
			p.addf(fp+".reason", "required: it is shown in every answer the freeze stops")
		}
		fromKey := deprecatedAlias(fp, "from", "starts_at", &f.DeprecatedFrom, &f.From, p)
		toKey := deprecatedAlias(fp, "to", "ends_at", &f.DeprecatedTo, &f.To, p)
		dated := f.From.IsSet() || f.To.IsSet()
		weekly := f.Start.IsSet() || f.End.IsSet() || len(f.Weekdays) > 0 || f.TimeZone.IsSet()
		switch {
		case dated && weekly:
			p.addf(fp, "set either starts_at and ends_at, or weekdays, start and end, not both")
		case dated:
			validatePeriod(fp, fromKey, toKey, f.From, f.To, p)
		case weekly:
			validateWeekly(fp, f.Weekdays, f.Start, f.End, f.TimeZone, p)
		default:
			p.addf(fp, "set starts_at and ends_at (RFC 3339 times), or start and end (HH:MM) with weekdays and time_zone")
		}
	}
	if e := c.Emergency; e != nil {
		if len(e.Severities) == 0 {
			p.addf(path+".emergency.severities", "at least one severity is required: %s", strings.Join(Severities, ", "))
		}
		for i, s := range e.Severities {
			if !slices.Contains(Severities, s) {
				p.addf(fmt.Sprintf("%s.emergency.severities[%d]", path, i), "must be one of %s, got %q", strings.Join(Severities, ", "), s)
			}
		}
	}
}

func validateWeekly(path string, weekdays []Weekday, start, end Clock, zone TimeZone, p *collector) {
	seen := map[time.Weekday]bool{}
	for i, d := range weekdays {
		switch {
		case d.err != nil:
			p.addf(fmt.Sprintf("%s.weekdays[%d]", path, i), "%v", d.err)
		case seen[d.day]:
			p.addf(fmt.Sprintf("%s.weekdays[%d]", path, i), "%s is listed twice", d)
		}
		if d.err == nil {
			seen[d.day] = true
		}
	}
	ok := true
	for _, f := range []struct {
		field string
		c     Clock
	}{{"start", start}, {"end", end}} {
		switch {
		case !f.c.IsSet():
			p.addf(path+"."+f.field, "required: a time of day HH:MM such as \"22:00\"")
			ok = false
		case f.c.err != nil:
			p.addf(path+"."+f.field, "%v", f.c.err)
			ok = false
		}
	}
	if ok && start.since == end.since {
		p.addf(path+".end", "equals start (%s): the range would be empty or a whole day", start)
	}
	if start.IsSet() && start.err == nil && start.since == 24*time.Hour {
		p.addf(path+".start", "must be before 24:00")
	}
	if zone.err != nil {
		p.addf(path+".time_zone", "%v", zone.err)
	}
}

// deprecatedAlias moves a timestamp written under its deprecated key old
// to its field (key name) with a warning, and returns the key the file
// used, for messages.
func deprecatedAlias(path, old, name string, from, to *Timestamp, p *collector) string {
	if !from.IsSet() {
		return name
	}
	if to.IsSet() {
		p.addf(path+"."+old, "is a deprecated alias of %s: set %s only", name, name)
		return name
	}
	p.warnf(path+"."+old, "%s is deprecated: rename it %s", old, name)
	*to, *from = *from, Timestamp{}
	return old
}

func validatePeriod(path, fromKey, toKey string, from, to Timestamp, p *collector) {
	ok := true
	for _, x := range []struct {
		field, other string
		ts           Timestamp
	}{{fromKey, toKey, from}, {toKey, fromKey, to}} {
		switch {
		case !x.ts.IsSet():
			p.addf(path+"."+x.field, "required with %s", x.other)
			ok = false
		case x.ts.err != nil:
			p.addf(path+"."+x.field, "%v", x.ts.err)
			ok = false
		}
	}
	if ok && !to.t.After(from.t) {
		p.addf(path+"."+toKey, "must be after %s (%s)", fromKey, from)
	}
}

func validateConcurrency(c *Concurrency, clusters map[string]int, p *collector) {
	if c.MaxServices < 0 {
		p.addf("concurrency.max_services", "must not be negative, got %d", c.MaxServices)
	}
	if c.MaxClusterHostsPercent < 0 || c.MaxClusterHostsPercent > 100 {
		p.addf("concurrency.max_cluster_hosts_percent", "must be from 0 to 100, got %g", c.MaxClusterHostsPercent)
	}
	if c.MaxClusterHostsPercent > 0 && len(clusters) == 0 {
		p.addf("concurrency.max_cluster_hosts_percent", "needs the clusters list with each cluster's hosts")
	}
	if c.MaxServices == 0 && c.MaxClusterHostsPercent == 0 && len(c.Clusters) == 0 {
		p.addf("concurrency", "set max_services, max_cluster_hosts_percent or clusters (or leave concurrency out)")
	}
	seen := map[string]bool{}
	for i, cl := range c.Clusters {
		path := fmt.Sprintf("concurrency.clusters[%d]", i)
		if _, ok := clusters[cl.Name]; !ok {
			p.addf(path+".name", "undefined cluster %q: add it to clusters with its hosts", cl.Name)
		} else if seen[cl.Name] {
			p.addf(path+".name", "cluster %q is listed twice", cl.Name)
		}
		seen[cl.Name] = true
		if cl.MaxServices < 0 {
			p.addf(path+".max_services", "must not be negative, got %d", cl.MaxServices)
		}
		if cl.MaxHostsPercent < 0 || cl.MaxHostsPercent > 100 {
			p.addf(path+".max_hosts_percent", "must be from 0 to 100, got %g", cl.MaxHostsPercent)
		}
		if cl.MaxServices == 0 && cl.MaxHostsPercent == 0 {
			p.addf(path, "set max_services or max_hosts_percent")
		}
	}
	if c.QueueTimeout < MinQueueTimeout {
		p.addf("concurrency.queue_timeout", "must be at least %s: a waiter asks again every 30s, so a shorter timeout drops waiters between their own asks, got %s", MinQueueTimeout, c.QueueTimeout)
	}
	if c.StaleAfter <= 0 {
		p.addf("concurrency.stale_after", "must be greater than 0")
	}
}
