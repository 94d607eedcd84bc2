package alerts

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/timeinterval"

	"github.com/patchgate/patchgate/internal/config"
)

// inWindow is the gate's meaning of a patch window (docs/decisions.md,
// gate/schedule.go), written again as the test's oracle: the window starts
// on each of its weekdays (every day when none) at Start in its time zone
// and ends at End, on the next day when End is at or before Start.
func inWindow(w config.Window, loc *time.Location, t time.Time) bool {
	start, _ := config.ParseClock(w.Start.String())
	end, _ := config.ParseClock(w.End.String())
	local := t.In(loc)
	for off := -1; off <= 0; off++ {
		day := time.Date(local.Year(), local.Month(), local.Day()+off, 0, 0, 0, 0, loc)
		if len(w.Weekdays) > 0 {
			ok := false
			for _, d := range w.Weekdays {
				wd, _ := config.ParseWeekday(d.String())
				ok = ok || wd == day.Weekday()
			}
			if !ok {
				continue
			}
		}
		at := func(d time.Time, c time.Duration) time.Time {
			return time.Date(d.Year(), d.Month(), d.Day(), int(c/time.Hour), int(c%time.Hour/time.Minute), 0, 0, loc)
		}
		from, to := at(day, start), at(day, end)
		if end <= start {
			to = at(day.AddDate(0, 0, 1), end)
		}
		if !t.Before(from) && t.Before(to) {
			return true
		}
	}
	return false
}

// TestWindowIntervals: Alertmanager's own time-interval code, reading the
// intervals the generated configuration holds, mutes exactly when the
// gate's windows are open, at random instants over two years (days on which
// the zone changes its offset are left out: a wall-clock range is then
// ambiguous for both).
func TestWindowIntervals(t *testing.T) {
	windows := []config.Window{
		{Weekdays: weekdays("mon", "tue", "Wednesday", "thu", "fri"), Start: config.ClockOf("22:00"), End: config.ClockOf("04:00"), TimeZone: config.TimeZoneOf("Europe/Berlin")},
		{Weekdays: weekdays("sat"), Start: config.ClockOf("09:00"), End: config.ClockOf("24:00"), TimeZone: config.TimeZoneOf("America/New_York")},
		{Weekdays: weekdays("sun"), Start: config.ClockOf("23:30"), End: config.ClockOf("00:00")},
		{Start: config.ClockOf("01:15"), End: config.ClockOf("02:45"), TimeZone: config.TimeZoneOf("Asia/Kolkata")},
		{Weekdays: weekdays("sat"), Start: config.ClockOf("18:00"), End: config.ClockOf("06:00"), TimeZone: config.TimeZoneOf("Australia/Sydney")},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, w := range windows {
		t.Run(w.Start.String()+"-"+w.End.String()+" "+w.TimeZone.String(), func(t *testing.T) {
			cfg := loadConfig(t, testConfig)
			cfg.Controls.Windows = []config.Window{w}
			r, err := Alertmanager(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := load(t, r.Data)
			intervals := map[string][]timeinterval.TimeInterval{}
			for _, ti := range c.TimeIntervals {
				intervals[ti.Name] = ti.TimeIntervals
			}
			muter := timeinterval.NewIntervener(intervals)
			loc := w.TimeZone.Location()
			{
			}
			in, checked := 0, 0
			for range 5000 {
				at := from.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour)))).Truncate(time.Second)
				_, before := at.Add(-36 * time.Hour).In(loc).Zone()
				if _, after := at.Add(36 * time.Hour).In(loc).Zone(); before != after {
					continue
				}
				muted, _, err := muter.Mutes([]string{WindowsInterval}, at)
				if err != nil {
					t.Fatal(err)
				}
				if want := inWindow(w, loc, at); muted != want {
					t.Fatalf("%s (%s): muted %v, the gate's window open %v", at, at.In(loc), muted, want)
				}
				checked++
				if muted {
					in++
				}
			}
			if in == 0 || in == checked {
				t.Fatalf("%d of %d instants inside: the comparison says nothing", in, checked)
			}
		})
	}
}

func weekdays(names ...string) []config.Weekday {
	out := make([]config.Weekday, len(names))
	for i, n := range names {
		out[i] = config.WeekdayOf(n)
	}
	return out
}
