package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones work where the system has no zoneinfo
)

// Severities a patch may have, most severe first.
var Severities = []string{"critical", "high", "medium", "low"}

// Cluster is a group of hosts that rollouts patch. Its size is what
// concurrency.max_cluster_hosts_percent is a percentage of.
type Cluster struct {
	// Name is unique and matches [a-zA-Z0-9_.-]+.
	Name string `yaml:"name" json:"name"`
	// Hosts is the number of hosts in the cluster (greater than 0).
	Hosts int `yaml:"hosts" json:"hosts"`
}

// Controls are the operator's rules around the checks: maintenance
// windows, change freezes and the emergency path. At the top of the file
// they apply to every service; a service's own controls replace the
// windows and the emergency policy and add to the freezes.
type Controls struct {
	// Windows are when stages may be promoted; outside every window a
	// stage waits until the next one opens. None: always open.
	Windows []Window `yaml:"windows" json:"windows,omitempty"`
	// Freezes are when no stage may be promoted (no_go).
	Freezes []Freeze `yaml:"freezes" json:"freezes,omitempty"`
	// Emergency lets patches of some severities through windows and
	// freezes (the critical CVE path).
	Emergency *Emergency `yaml:"emergency" json:"emergency,omitempty"`
}

// Window is a weekly time range in a time zone.
type Window struct {
	// Weekdays on which the range starts: mon, tue, wed, thu, fri, sat,
	// sun (or full names). Default every day.
	Weekdays []Weekday `yaml:"weekdays" json:"weekdays,omitempty"`
	// Start and End are "HH:MM" (End may be "24:00"). An End at or before
	// Start crosses midnight: "22:00" to "04:00" on mon is Monday 22:00 to
	// Tuesday 04:00. Both required.
	Start Clock `yaml:"start" json:"start"`
	End   Clock `yaml:"end" json:"end"`
	// TimeZone is an IANA name such as Europe/Berlin (default UTC).
	TimeZone TimeZone `yaml:"time_zone" json:"time_zone,omitzero"`
}

// Freeze is a change freeze: either one period (From and To, RFC 3339,
// written starts_at and ends_at as in the API's freezes) or a weekly range
// (Weekdays, Start, End, TimeZone as in Window).
type Freeze struct {
	From Timestamp `yaml:"starts_at" json:"starts_at,omitzero"`
	To   Timestamp `yaml:"ends_at" json:"ends_at,omitzero"`
	// DeprecatedFrom and DeprecatedTo are the keys from and to, which
	// name From and To with a warning (Config.Warnings).
	DeprecatedFrom Timestamp `yaml:"from" json:"-"`
	DeprecatedTo   Timestamp `yaml:"to" json:"-"`
	Weekdays       []Weekday `yaml:"weekdays" json:"weekdays,omitempty"`
	Start          Clock     `yaml:"start" json:"start,omitzero"`
	End            Clock     `yaml:"end" json:"end,omitzero"`
	TimeZone       TimeZone  `yaml:"time_zone" json:"time_zone,omitzero"`
	// Reason is shown in every answer the freeze stops (required).
	Reason string `yaml:"reason" json:"reason"`
}

// Emergency is the path around windows and freezes.
type Emergency struct {
	// Severities let through windows and freezes, e.g. [critical]. The
	// gate reads a patch's severity from params.severity, else from the
	// patch's discovered event.
	Severities []string `yaml:"severities" json:"severities"`
}

// Concurrency bounds how much of the fleet patches at once.
type Concurrency struct {
	// MaxServices is how many services may be patching at once, fleet
	// wide (0: no limit).
	MaxServices int `yaml:"max_services" json:"max_services,omitempty"`
	// MaxClusterHostsPercent is the share of any cluster's hosts that may
	// be patching at once (0: no limit; needs clusters with hosts).
	MaxClusterHostsPercent float64 `yaml:"max_cluster_hosts_percent" json:"max_cluster_hosts_percent,omitempty"`
	// Clusters set other limits for single clusters.
	Clusters []ClusterLimit `yaml:"clusters" json:"clusters,omitempty"`
	// QueueTimeout drops a waiting service from the line when it has not
	// asked for this long (default 2m, at least MinQueueTimeout).
	QueueTimeout Duration `yaml:"queue_timeout" json:"queue_timeout"`
	// StaleAfter ends a service's patching when neither a stage_started
	// event nor a go has been seen for this long without a deployed or
	// rolled_back event (default 24h): a pipeline that died frees its slot.
	StaleAfter Duration `yaml:"stale_after" json:"stale_after"`
}

// ClusterLimit is the concurrency limit of one cluster.
type ClusterLimit struct {
	// Name is a cluster of the top-level clusters list.
	Name string `yaml:"name" json:"name"`
	// MaxServices is how many services may be patching in the cluster at
	// once (0: no limit of its own).
	MaxServices int `yaml:"max_services" json:"max_services,omitempty"`
	// MaxHostsPercent replaces max_cluster_hosts_percent for the cluster.
	MaxHostsPercent float64 `yaml:"max_hosts_percent" json:"max_hosts_percent,omitempty"`
}

// Defaults of Concurrency.
const (
	DefaultQueueTimeout = Duration(2 * time.Minute)
	// MinQueueTimeout is twice the 30 s a waiter is told to wait before
	// asking again: a shorter timeout would drop waiters between their
	// own asks, and the line would lose its order.
	MinQueueTimeout   = Duration(time.Minute)
	DefaultStaleAfter = Duration(24 * time.Hour)
)

// Cluster returns the cluster called name.
func (c *Config) Cluster(name string) (*Cluster, bool) {
	for i := range c.Clusters {
		if c.Clusters[i].Name == name {
			return &c.Clusters[i], true
		}
	}
	return nil, false
}

// EffectiveControls returns the controls that apply to svc: its windows
// and emergency policy when it has them, else the top-level ones; the
// freezes of both.
func (c *Config) EffectiveControls(svc *Service) Controls {
	out := Controls{
		Windows:   c.Controls.Windows,
		Freezes:   c.Controls.Freezes,
		Emergency: c.Controls.Emergency,
	}
	if svc == nil || svc.Controls == nil {
		return out
	}
	if len(svc.Controls.Windows) > 0 {
		out.Windows = svc.Controls.Windows
	}
	if svc.Controls.Emergency != nil {
		out.Emergency = svc.Controls.Emergency
	}
	out.Freezes = append(append([]Freeze(nil), c.Controls.Freezes...), svc.Controls.Freezes...)
	return out
}

// weekdayNames maps the accepted spellings to time.Weekday.
var weekdayNames = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// ParseWeekday reads mon..sun or a full English day name, any case.
func ParseWeekday(s string) (time.Weekday, error) {
	d, ok := weekdayNames[strings.ToLower(s)]
	if !ok {
		return 0, fmt.Errorf("unknown weekday %q: want mon, tue, wed, thu, fri, sat or sun", s)
	}
	return d, nil
}

// ParseClock reads "HH:MM" (00:00 to 24:00) as the time since midnight.
func ParseClock(s string) (time.Duration, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, errH := strconv.Atoi(hh)
	m, errM := strconv.Atoi(mm)
	if !ok || len(hh) != 2 || len(mm) != 2 || errH != nil || errM != nil ||
		h < 0 || h > 24 || m < 0 || m > 59 || h == 24 && m != 0 {
		return 0, fmt.Errorf("want a time of day HH:MM such as \"22:00\" (00:00 to 24:00), got %q", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}
