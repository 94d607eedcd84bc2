package alerts

import (
	"fmt"
	"strings"
	"time"

	"github.com/patchgate/patchgate/internal/config"
)

// Names of the time intervals built from the patch windows.
const (
	// WindowsInterval holds the top-level controls.windows.
	WindowsInterval = "patchgate-windows"
	// serviceIntervalPrefix starts the interval of a service's own windows.
	serviceIntervalPrefix = WindowsInterval + "-"
)

// ServiceInterval is the name of the time interval of a service's own
// patch windows.
func ServiceInterval(service string) string { return serviceIntervalPrefix + service }

// isPatchgateInterval reports whether an interval name is one patchgate
// writes (and replaces when merging again).
func isPatchgateInterval(name string) bool {
	return name == WindowsInterval || strings.HasPrefix(name, serviceIntervalPrefix)
}

// timeInterval is an Alertmanager time_intervals entry.
type timeInterval struct {
	Name          string      `yaml:"name"`
	TimeIntervals []timeRange `yaml:"time_intervals"`
}

type timeRange struct {
	Times    []clockRange `yaml:"times,omitempty"`
	Weekdays []string     `yaml:"weekdays,omitempty"`
	Location string       `yaml:"location,omitempty"`
}

type clockRange struct {
	StartTime string `yaml:"start_time"`
	EndTime   string `yaml:"end_time"`
}

// windowRanges turns patch windows into Alertmanager time ranges with the
// gate's meaning: a window starts on each of its weekdays (every day when
// none) at Start, in its time zone, and ends at End, on the next day when
// End is at or before Start. A window that crosses midnight becomes two
// ranges: Start to 24:00 on its weekdays, 00:00 to End on the days after.
func windowRanges(ws []config.Window) ([]timeRange, error) {
	var out []timeRange
	for _, w := range ws {
		start, end := w.Start.Since(), w.End.Since()
		loc := w.TimeZone.String()
		if loc == "" {
			loc = "UTC"
		}
		days := make([]time.Weekday, 0, len(w.Weekdays))
		for _, d := range w.Weekdays {
			days = append(days, d.Day())
		}
		if end > start {
			out = append(out, timeRange{Times: []clockRange{{clock(start), clock(end)}}, Weekdays: weekdayNames(days, 0), Location: loc})
			continue
		}
		out = append(out, timeRange{Times: []clockRange{{clock(start), "24:00"}}, Weekdays: weekdayNames(days, 0), Location: loc})
		if end > 0 {
			out = append(out, timeRange{Times: []clockRange{{"00:00", clock(end)}}, Weekdays: weekdayNames(days, 1), Location: loc})
		}
	}
	return out, nil
}

// clock prints a time of day as HH:MM.
func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// weekdayNames names the days shift days after each of days, as
// Alertmanager spells them; nil (every day) for none.
func weekdayNames(days []time.Weekday, shift int) []string {
	if len(days) == 0 {
		return nil
	}
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = strings.ToLower(((d + time.Weekday(shift)) % 7).String())
	}
	return out
}
