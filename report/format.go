package report

import (
	"strconv"
	"time"

	"github.com/patchgate/patchgate/internal/numfmt"
)

// formatPercent writes a fraction as a percentage with one decimal
// ("96.3%"), or "no data".
func formatPercent(r *float64) string {
	if r == nil {
		return "no data"
	}
	return strconv.FormatFloat(*r*100, 'f', 1, 64) + "%"
}

// formatDuration writes seconds in the unit a reader expects: minutes
// under two hours, hours under two days, else days.
func formatDuration(seconds *float64) string {
	if seconds == nil {
		return "no data"
	}
	s := *seconds
	switch {
	case s < 2*3600:
		return strconv.FormatFloat(s/60, 'f', 0, 64) + " min"
	case s < 2*86400:
		return strconv.FormatFloat(s/3600, 'f', 1, 64) + " h"
	default:
		return strconv.FormatFloat(s/86400, 'f', 1, 64) + " d"
	}
}

// formatCount writes a count with thousands separators, rounded to an
// integer ("12,480").
func formatCount(v float64) string { return numfmt.Grouped(v, 0) }

// formatValue writes a chart value in its unit.
func formatValue(v float64, unit string) string {
	switch unit {
	case "%":
		return strconv.FormatFloat(v, 'f', -1, 64) + "%"
	case "days":
		return strconv.FormatFloat(v, 'f', -1, 64) + " days"
	default:
		return strconv.FormatFloat(v, 'f', -1, 64) + " " + unit
	}
}

// formatTime writes a time in UTC to the minute.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// leadTimeName is a lead-time metric as a reader says it.
func leadTimeName(metric string) string {
	switch metric {
	case TimeToDiscover:
		return "Time to discover"
	case TimeToTest:
		return "Time to test"
	case TimeToDeploy:
		return "Time to deploy"
	}
	return metric
}
