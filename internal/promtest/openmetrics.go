package promtest

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Point is one sample.
type Point struct {
	T time.Time
	V float64
}

// Series is one series of samples for backfilling. Name is the metric name,
// kept verbatim (http_requests_total stays http_requests_total). Labels must
// not hold __name__; labels with empty values are dropped, as in Prometheus.
type Series struct {
	Name    string
	Labels  map[string]string
	Samples []Point
}

// WriteOpenMetrics writes series in the OpenMetrics text format that
// `promtool tsdb create-blocks-from openmetrics` reads.
//
// Every metric family is declared "unknown", so that names are kept as
// given: a "counter" family would require its samples to end in _total and
// would be named without it. rate() and increase() do not care about the
// declared type. Each series' samples are written in time order, because
// promtool silently drops a sample older than the one before it; two samples
// of a series at the same millisecond, or two series with the same labels,
// are an error for the same reason. Timestamps are written in seconds with
// millisecond precision.
func WriteOpenMetrics(w io.Writer, series []Series) error {
	type prepared struct {
		name    string
		labels  string // {a="b",...} or ""
		samples []Point
	}
	all := make([]prepared, 0, len(series))
	seen := make(map[string]bool, len(series))
	for i, s := range series {
		ls, err := formatLabels(s.Labels)
		if err != nil {
			return fmt.Errorf("series %d (%s): %w", i, s.Name, err)
		}
		if !model.LegacyValidation.IsValidMetricName(s.Name) {
			return fmt.Errorf("series %d: invalid metric name %q", i, s.Name)
		}
		id := s.Name + ls
		if seen[id] {
			return fmt.Errorf("series %d: %s appears twice", i, id)
		}
		seen[id] = true
		samples := slices.Clone(s.Samples)
		slices.SortStableFunc(samples, func(a, b Point) int { return a.T.Compare(b.T) })
		for j := 1; j < len(samples); j++ {
			if samples[j].T.UnixMilli() == samples[j-1].T.UnixMilli() {
				return fmt.Errorf("series %s: two samples at %s", id, samples[j].T.UTC().Format(time.RFC3339Nano))
			}
		}
		all = append(all, prepared{name: s.Name, labels: ls, samples: samples})
	}
	// A metric family's series must follow one another.
	slices.SortStableFunc(all, func(a, b prepared) int { return cmp.Compare(a.name, b.name) })

	bw := bufio.NewWriter(w)
	for i, s := range all {
		if i == 0 || all[i-1].name != s.name {
			fmt.Fprintf(bw, "# TYPE %s unknown\n", s.name)
		}
		for _, p := range s.samples {
			fmt.Fprintf(bw, "%s%s %s %s\n", s.name, s.labels, formatValue(p.V), formatTime(p.T))
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

func formatLabels(m map[string]string) (string, error) {
	names := make([]string, 0, len(m))
	for name, value := range m {
		if value == "" {
			continue
		}
		if name == model.MetricNameLabel {
			return "", errors.New("set the metric name in Name, not as a __name__ label")
		}
		if !model.LegacyValidation.IsValidLabelName(name) {
			return "", fmt.Errorf("invalid label name %q", name)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return "", nil
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name)
		b.WriteString(`="`)
		b.WriteString(labelValueEscaper.Replace(m[name]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// labelValueEscaper escapes what OpenMetrics requires in label values.
var labelValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// formatTime writes seconds with exactly the milliseconds, without going
// through a float.
func formatTime(t time.Time) string {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	if ms%1000 == 0 {
		return sign + strconv.FormatInt(ms/1000, 10)
	}
	return fmt.Sprintf("%s%d.%03d", sign, ms/1000, ms%1000)
}
