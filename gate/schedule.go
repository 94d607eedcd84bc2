package gate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patchgate/patchgate/internal/config"
)

// weekly is a compiled weekly time range (a maintenance window or a
// recurring freeze).
type weekly struct {
	days       [7]bool
	start, end time.Duration // since midnight; end <= start crosses midnight
	loc        *time.Location
	text       string // as the answer names it
}

// compileWeekly takes a window or weekly freeze as config read it.
func compileWeekly(weekdays []config.Weekday, start, end config.Clock, zone config.TimeZone) weekly {
	w := weekly{loc: zone.Location(), start: start.Since(), end: end.Since()}
	days := "every day"
	if len(weekdays) == 0 {
		w.days = [7]bool{true, true, true, true, true, true, true}
	} else {
		for _, d := range weekdays {
			w.days[d.Day()] = true
		}
		names := make([]string, 0, len(weekdays))
		for d := time.Sunday; d <= time.Saturday; d++ {
			if w.days[(d+1)%7] {
				names = append(names, strings.ToLower(((d + 1) % 7).String()[:3]))
			}
		}
		days = strings.Join(names, ",")
	}
	w.text = fmt.Sprintf("%s %s–%s %s", days, start, end, w.loc)
	return w
}

// on returns the instant of the time of day c on the day of day (its
// date in w's zone). 24:00 is the next midnight.
func (w weekly) on(day time.Time, c time.Duration) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, int(c/time.Hour), int(c%time.Hour/time.Minute), 0, 0, w.loc)
}

// at reports whether t is inside the range; edge is when that occurrence
// ends if so, else when the next one starts (zero if never).
func (w weekly) at(t time.Time) (in bool, edge time.Time) {
	local := t.In(w.loc)
	y, m, d := local.Date()
	var next time.Time
	// An occurrence that crosses midnight may have started yesterday.
	for off := -1; off <= 7; off++ {
		day := time.Date(y, m, d+off, 12, 0, 0, 0, w.loc)
		if !w.days[day.Weekday()] {
			continue
		}
		from := w.on(day, w.start)
		to := w.on(day, w.end)
		if w.end <= w.start {
			to = w.on(day.AddDate(0, 0, 1), w.end)
		}
		if !t.Before(from) && t.Before(to) {
			return true, to
		}
		if from.After(t) && (next.IsZero() || from.Before(next)) {
			next = from
		}
	}
	return false, next
}

// freezeRule is one configured or API change freeze.
type freezeRule struct {
	id     string // an API freeze's id; "" for a configured one
	source string // where it comes from: controls.freezes[0], freeze <id> by <actor>
	reason string
	// Exactly one of: a period [from, to), or a weekly range.
	from, to time.Time
	weekly   *weekly
}

// at reports whether the freeze holds at t and until when.
func (f freezeRule) at(t time.Time) (bool, time.Time) {
	if f.weekly != nil {
		in, edge := f.weekly.at(t)
		if !in {
			return false, time.Time{}
		}
		return true, edge
	}
	return !t.Before(f.from) && t.Before(f.to), f.to
}

// schedule is a service's compiled windows, configured freezes and
// emergency severities.
type schedule struct {
	windows   []weekly
	freezes   []freezeRule
	emergency []string
}

// compileSchedules compiles the controls of every service.
func compileSchedules(c *config.Config) map[string]*schedule {
	out := make(map[string]*schedule, len(c.Services))
	for i := range c.Services {
		svc := &c.Services[i]
		ctl := c.EffectiveControls(svc)
		s := &schedule{}
		for _, w := range ctl.Windows {
			s.windows = append(s.windows, compileWeekly(w.Weekdays, w.Start, w.End, w.TimeZone))
		}
		for j, f := range ctl.Freezes {
			r := freezeRule{source: fmt.Sprintf("configured freeze %d", j+1), reason: f.Reason}
			if f.From.IsSet() {
				r.from, r.to = f.From.Time(), f.To.Time()
			} else {
				cw := compileWeekly(f.Weekdays, f.Start, f.End, f.TimeZone)
				r.weekly = &cw
				r.source = fmt.Sprintf("configured freeze %d (%s)", j+1, cw.text)
			}
			s.freezes = append(s.freezes, r)
		}
		if ctl.Emergency != nil {
			s.emergency = slices.Clone(ctl.Emergency.Severities)
		}
		out[svc.Name] = s
	}
	return out
}

// windowCheck waits outside the service's maintenance windows until the
// next one opens, unless the patch takes the emergency path.
type windowCheck struct{ windows []weekly }

func (windowCheck) name() string { return "window" }

func (c windowCheck) run(_ context.Context, l *look) CheckResult {
	t := l.now
	var (
		next  time.Time
		which weekly
	)
	for i, w := range c.windows {
		in, edge := w.at(t)
		if in {
			r := result(c.name(), Pass, fmt.Sprintf("inside the maintenance window %s until %s",
				w.text, edge.In(w.loc).Format("Mon 15:04 MST")))
			r.state = controlState{verdict: Pass, n: i + 1}
			return r
		}
		if !edge.IsZero() && (next.IsZero() || edge.Before(next)) {
			next, which = edge, w
		}
	}
	if l.emergency != "" {
		r := result(c.name(), Pass, fmt.Sprintf("outside the maintenance windows, but severity %s takes the emergency path", l.emergency))
		r.state = controlState{verdict: Pass, id: l.emergency}
		return r
	}
	if next.IsZero() {
		r := result(c.name(), Inconclusive, "outside the maintenance windows, and none opens in the next week")
		r.retry, r.state = 3600, controlState{verdict: Inconclusive}
		return r
	}
	wait := next.Sub(t)
	r := result(c.name(), Inconclusive, fmt.Sprintf("outside the maintenance windows: the next, %s, opens at %s (in %s)",
		which.text, next.In(which.loc).Format("Mon 2006-01-02 15:04 MST"), wait.Round(time.Minute)))
	r.Details = map[string]float64{"opens_in_seconds": wait.Seconds()}
	r.retry, r.state = max(int(wait.Seconds()+0.999), 1), controlState{verdict: Inconclusive}
	return r
}

// freezeCheck fails while a freeze holds, unless the patch takes the
// emergency path.
type freezeCheck struct{ rules []freezeRule }

func (freezeCheck) name() string { return "freeze" }

func (c freezeCheck) run(_ context.Context, l *look) CheckResult {
	for i, f := range c.rules {
		in, until := f.at(l.now)
		if !in {
			continue
		}
		state := controlState{id: f.id, n: i + 1}
		what := fmt.Sprintf("change freeze until %s (%s): %s", until.UTC().Format(time.RFC3339), f.source, f.reason)
		if l.emergency != "" {
			r := result(c.name(), Pass, fmt.Sprintf("%s; severity %s takes the emergency path", what, l.emergency))
			state.verdict, r.state = Pass, state
			return r
		}
		r := result(c.name(), Fail, what)
		state.verdict, r.state = Fail, state
		return r
	}
	r := result(c.name(), Pass, "no change freeze in force")
	r.state = controlState{verdict: Pass}
	return r
}
