package promtest

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// counter returns a series growing by perSecond, sampled every 15 s from
// start for d.
func counter(name string, labels map[string]string, start time.Time, d time.Duration, perSecond float64) Series {
	s := Series{Name: name, Labels: labels}
	for off := time.Duration(0); off <= d; off += 15 * time.Second {
		s.Samples = append(s.Samples, Point{T: start.Add(off), V: perSecond * off.Seconds()})
	}
	return s
}

// query runs an instant query over the plain HTTP API and returns the value
// of each result series by its code label.
func query(t *testing.T, s *Server, q string, at time.Time) map[string]float64 {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/api/v1/query", url.Values{
		"query": {q},
		"time":  {strconv.FormatInt(at.Unix(), 10)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" || body.Data.ResultType != "vector" {
		t.Fatalf("%s: status %s, type %s, error %q", q, body.Status, body.Data.ResultType, body.Error)
	}
	out := map[string]float64{}
	for _, r := range body.Data.Result {
		v, err := strconv.ParseFloat(r.Value[1].(string), 64)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Metric["code"]] = v
	}
	return out
}

func TestStart(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Start(t, []Series{
		counter("http_requests_total", map[string]string{"job": "api", "code": "200"}, now.Add(-3*time.Hour), 3*time.Hour, 10),
		counter("http_requests_total", map[string]string{"job": "api", "code": "500"}, now.Add(-3*time.Hour), 3*time.Hour, 1),
		counter("legacy_total", map[string]string{"code": "old"}, old, time.Hour, 2),
	})
	tests := []struct {
		name  string
		query string
		at    time.Time
		want  map[string]float64
	}{
		{name: "increase over the last hour", query: `increase(http_requests_total[1h])`, at: now, want: map[string]float64{"200": 36000, "500": 3600}},
		{name: "rate in the oldest partial block", query: `rate(http_requests_total[5m])`, at: now.Add(-170 * time.Minute), want: map[string]float64{"200": 10, "500": 1}},
		{name: "raw value", query: `http_requests_total{code="500"}`, at: now.Add(-2 * time.Hour), want: map[string]float64{"500": 3600}},
		{name: "data from 2020", query: `increase(legacy_total[30m])`, at: old.Add(time.Hour), want: map[string]float64{"old": 3600}},
		{name: "nothing after the data", query: `http_requests_total`, at: now.Add(10 * time.Minute), want: map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := query(t, s, tt.query, tt.at)
			if len(got) != len(tt.want) {
				t.Fatalf("%s = %v, want %v", tt.query, got, tt.want)
			}
			for code, want := range tt.want {
				if v, ok := got[code]; !ok || math.Abs(v-want) > 1e-9*want {
					t.Errorf("%s{code=%q} = %v, want %v", tt.query, code, v, want)
				}
			}
		})
	}
}

func TestStartEmpty(t *testing.T) {
	s := Start(t, nil)
	got := query(t, s, `vector(1)`, time.Now())
	if got[""] != 1 {
		t.Fatalf("vector(1) = %v", got)
	}
}
