package vmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/promtest"
)

// TestStartImportsData: imported samples are searchable at once, and the
// response cache hazard the HTTP source guards against is real: a range
// query of 60 one-minute points starting at :07 comes back at :00 unless
// nocache=1 is sent.
func TestStartImportsData(t *testing.T) {
	base := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	var s promtest.Series
	s.Name, s.Labels = "requests_total", map[string]string{"code": "200"}
	for i := range 2*60*4 + 1 {
		s.Samples = append(s.Samples, promtest.Point{T: base.Add(time.Duration(i) * 15 * time.Second), V: float64(i) * 150})
	}
	srv := Start(t, []promtest.Series{s})
	start := base.Add(7*time.Minute + 30*time.Second)
	first := func(nocache bool) int64 {
		q := url.Values{"query": {"sum(rate(requests_total[1m]))*60"}, "start": {fmt.Sprint(start.Unix())},
			"end": {fmt.Sprint(start.Add(59 * time.Minute).Unix())}, "step": {"60"}}
		if nocache {
			q.Set("nocache", "1")
		}
		resp, err := http.Get(srv.URL + "/api/v1/query_range?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var r struct {
			Data struct {
				Result []struct{ Values [][2]any }
			}
		}
		if err := json.Unmarshal(body, &r); err != nil || len(r.Data.Result) != 1 {
			t.Fatalf("%v: %s", err, body)
		}
		return int64(r.Data.Result[0].Values[0][0].(float64))
	}
	if got := first(true); got != start.Unix() {
		t.Errorf("nocache=1: first point at %d, want %d", got, start.Unix())
	}
	// The hazard metricsource guards against (nocache=1 and a grid check):
	// if a VictoriaMetrics release stops aligning, this says so.
	if got := first(false); got != start.Truncate(time.Minute).Unix() {
		t.Errorf("with the response cache: first point at %s, want %s (aligned down to the step)",
			time.Unix(got, 0).UTC(), start.Truncate(time.Minute))
	}
}
