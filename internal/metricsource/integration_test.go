package metricsource

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/vmtest"
)

// recorded is one hour of http_requests_total from base, every 15 s
// (482 samples): code="200" grows by 10/s, code="500" by 1/s.
func recorded(base time.Time) []Sample {
	var samples []Sample
	samples = append(samples, counter(requests("200"), base, time.Hour, 10)...)
	samples = append(samples, counter(requests("500"), base, time.Hour, 1)...)
	return samples
}

// toSeries groups samples into promtest series.
func toSeries(samples []Sample) []promtest.Series {
	var out []promtest.Series
	index := map[string]int{}
	for _, s := range samples {
		labels := map[string]string{}
		for k, v := range s.Labels {
			if k != "__name__" {
				labels[k] = v
			}
		}
		key := s.Labels["__name__"] + "/" + s.Labels["code"]
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, promtest.Series{Name: s.Labels["__name__"], Labels: labels})
		}
		out[i].Samples = append(out[i].Samples, promtest.Point{T: s.T, V: s.V})
	}
	return out
}

// TestHTTPAgainstPrometheus runs the HTTP source against a real Prometheus
// holding recorded data, and the embedded source over the same data: both
// must give the values the data implies.
func TestHTTPAgainstPrometheus(t *testing.T) {
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	data := recorded(base)
	srv := promtest.Start(t, toSeries(data))

	httpSrc, err := NewHTTP(HTTPConfig{URL: srv.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer httpSrc.Close()
	embedded := newEmbedded(t, "")
	if err := embedded.Append(context.Background(), data); err != nil {
		t.Fatal(err)
	}
	// The same source, unchanged, against VictoriaMetrics holding the same
	// data: the second query engine.
	vm := vmtest.Start(t, toSeries(data))
	vmSrc, err := NewHTTP(HTTPConfig{URL: vm.URL, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer vmSrc.Close()
	sources := map[string]Source{"http": httpSrc, "embedded": embedded, "victoriametrics": vmSrc}

	ctx := context.Background()
	end := base.Add(time.Hour)
	instant := []struct {
		name  string
		query string
		at    time.Time
		want  map[string]float64
	}{
		{name: "increase over 10m", query: `increase(http_requests_total[10m])`, at: end, want: map[string]float64{"200": 6000, "500": 600}},
		{name: "increase over 1h", query: `sum(increase(http_requests_total[1h]))`, at: end, want: map[string]float64{"": 39600}},
		{name: "rate", query: `rate(http_requests_total{code="500"}[5m])`, at: base.Add(30 * time.Minute), want: map[string]float64{"500": 1}},
		{name: "error ratio", query: `sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total[5m]))`, at: end, want: map[string]float64{"": 1.0 / 11}},
		{name: "raw value", query: `http_requests_total{code="200"}`, at: base.Add(10 * time.Minute), want: map[string]float64{"200": 6000}},
		{name: "scalar", query: `time()`, at: end, want: map[string]float64{"": float64(end.Unix())}},
		{name: "no data yet", query: `http_requests_total`, at: base.Add(-time.Minute), want: map[string]float64{}},
	}
	for name, src := range sources {
		for _, tt := range instant {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				got, err := src.Query(ctx, tt.query, tt.at)
				if err != nil {
					t.Fatal(err)
				}
				m := byCode(got)
				if len(m) != len(tt.want) {
					t.Fatalf("%s = %v, want %v", tt.query, got, tt.want)
				}
				for code, want := range tt.want {
					if v, ok := m[code]; !ok || !near(v, want) {
						t.Errorf("%s{code=%q} = %v, want %v", tt.query, code, v, want)
					}
				}
			})
		}
		t.Run(name+"/range", func(t *testing.T) {
			start := base.Add(10 * time.Minute)
			got, err := src.QueryRange(ctx, `rate(http_requests_total[2m])`, start, end, 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{"200": 10, "500": 1}
			if len(got) != 2 {
				t.Fatalf("got %d series, want 2: %v", len(got), got)
			}
			for _, ss := range got {
				if len(ss.Values) != 11 {
					t.Errorf("%s has %d points, want 11", ss.Metric, len(ss.Values))
				}
				for i, p := range ss.Values {
					if !p.Timestamp.Time().Equal(start.Add(time.Duration(i) * 5 * time.Minute)) {
						t.Errorf("%s point %d at %s", ss.Metric, i, p.Timestamp.Time().UTC())
					}
					if w := want[string(ss.Metric["code"])]; !near(float64(p.Value), w) {
						t.Errorf("%s point %d = %v, want %v", ss.Metric, i, p.Value, w)
					}
				}
			}
		})
		t.Run(name+"/ready", func(t *testing.T) {
			if err := src.Ready(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("bad query", func(t *testing.T) {
		if _, err := httpSrc.Query(ctx, `rate(http_requests_total[5m]`, end); err == nil {
			t.Fatal("a parse error was not an error")
		}
		if _, err := httpSrc.QueryRange(ctx, `http_requests_total`, base, end, time.Minute); err != nil {
			t.Fatalf("a plain selector as range query: %v", err)
		}
	})

	t.Run("counting and instrumented", func(t *testing.T) {
		counting := NewCounting(httpSrc)
		src := Instrumented(counting, prometheus.NewRegistry())
		for range 3 {
			if _, err := src.Query(ctx, `up`, end); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := src.QueryRange(ctx, `up`, base, end, time.Minute); err != nil {
			t.Fatal(err)
		}
		if got := counting.Count(); got != 4 {
			t.Errorf("Count = %d, want 4", got)
		}
	})
}
