package promtest

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

var base = time.Date(2031, 3, 14, 12, 0, 0, 0, time.UTC) // 1931256000

func TestWriteOpenMetrics(t *testing.T) {
	tests := []struct {
		name   string
		series []Series
		want   string
	}{
		{
			name: "names kept verbatim, families together, samples in time order",
			series: []Series{
				{Name: "http_requests_total", Labels: map[string]string{"job": "api", "code": "500"}, Samples: []Point{
					{T: base.Add(15 * time.Second), V: 2}, {T: base, V: 1},
				}},
				{Name: "up", Labels: map[string]string{"job": "api"}, Samples: []Point{{T: base, V: 1}}},
				{Name: "http_requests_total", Labels: map[string]string{"job": "api", "code": "200"}, Samples: []Point{
					{T: base.Add(1500 * time.Millisecond), V: 1e6},
				}},
			},
			want: `# TYPE http_requests_total unknown
http_requests_total{code="500",job="api"} 1 1931256000
http_requests_total{code="500",job="api"} 2 1931256015
http_requests_total{code="200",job="api"} 1e+06 1931256001.500
# TYPE up unknown
up{job="api"} 1 1931256000
# EOF
`,
		},
		{
			name: "special values, escaping, no labels, empty label values",
			series: []Series{
				{Name: "x", Labels: map[string]string{"path": "a\\b\"c\nd", "empty": ""}, Samples: []Point{
					{T: base, V: math.NaN()}, {T: base.Add(time.Millisecond), V: math.Inf(1)}, {T: base.Add(2 * time.Millisecond), V: math.Inf(-1)},
				}},
				{Name: "y", Samples: []Point{{T: base, V: -0.25}}},
			},
			want: `# TYPE x unknown
x{path="a\\b\"c\nd"} NaN 1931256000
x{path="a\\b\"c\nd"} +Inf 1931256000.001
x{path="a\\b\"c\nd"} -Inf 1931256000.002
# TYPE y unknown
y -0.25 1931256000
# EOF
`,
		},
		{
			name:   "before 1970",
			series: []Series{{Name: "z", Samples: []Point{{T: time.UnixMilli(-1500), V: 1}}}},
			want:   "# TYPE z unknown\nz 1 -1.500\n# EOF\n",
		},
		{name: "nothing", want: "# EOF\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteOpenMetrics(&b, tt.series); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestWriteOpenMetricsErrors(t *testing.T) {
	p := []Point{{T: base, V: 1}}
	tests := []struct {
		name   string
		series []Series
		err    string
	}{
		{name: "bad metric name", series: []Series{{Name: "http-requests", Samples: p}}, err: `invalid metric name "http-requests"`},
		{name: "bad label name", series: []Series{{Name: "x", Labels: map[string]string{"a.b": "1"}, Samples: p}}, err: `invalid label name "a.b"`},
		{name: "__name__ label", series: []Series{{Name: "x", Labels: map[string]string{"__name__": "y"}, Samples: p}}, err: "set the metric name in Name"},
		{name: "same series twice", series: []Series{{Name: "x", Samples: p}, {Name: "x", Labels: map[string]string{"a": ""}, Samples: p}}, err: "x appears twice"},
		{name: "same millisecond twice", series: []Series{{Name: "x", Samples: []Point{{T: base}, {T: base.Add(time.Microsecond)}}}}, err: "two samples at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteOpenMetrics(&bytes.Buffer{}, tt.series)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want one containing %q", err, tt.err)
			}
		})
	}
}
