package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/sim"
	"github.com/patchgate/patchgate/report"
)

type discard struct{}

func (discard) Append(context.Context, []metricsource.Sample) error { return nil }

// After the rollouts the demo's clock moves with the wall clock: ten real
// minutes are ten simulated minutes, not 900.
func TestFollowWall(t *testing.T) {
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	fleet, err := sim.New(sim.Config{
		Clusters: []string{"a"},
		Services: []sim.ServiceSpec{{Name: "web", HostsPerCluster: 2, RequestsPerSecond: 10, ErrorRate: 0.01}},
		Seed:     1,
	}, start)
	if err != nil {
		t.Fatal(err)
	}
	clock := &demoClock{now: start}
	wall := start.Add(80*time.Minute + 30*time.Second)
	for _, tt := range []struct {
		advance time.Duration
		want    time.Time
	}{
		{0, start.Add(80 * time.Minute)},                // catching up after the rollouts
		{10 * time.Minute, start.Add(90 * time.Minute)}, // then real time
		{20 * time.Second, start.Add(90 * time.Minute)}, // no minute has passed
		{40 * time.Second, start.Add(91 * time.Minute)}, // now one has
		{-5 * time.Minute, start.Add(91 * time.Minute)}, // a wall clock set back never rewinds the data
	} {
		wall = wall.Add(tt.advance)
		if err := followWall(context.Background(), fleet, discard{}, clock, func() time.Time { return wall }, nil); err != nil {
			t.Fatal(err)
		}
		if !clock.Now().Equal(tt.want) || !fleet.Now().Equal(tt.want) {
			t.Errorf("wall %s: clock %s, fleet %s, want %s", wall.Format("15:04:05"), clock.Now().Format("15:04"), fleet.Now().Format("15:04"), tt.want.Format("15:04"))
		}
	}
}

// demo --serve: once serving, the gate decides at the wall clock's time,
// so the printed report URL (period=6h) keeps holding the rollouts.
func TestDemoServeFollowsWallClock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo", "--serve", "--speed", "2000"}, &out, &errOut) }()
	defer func() {
		cancel()
		<-done
	}()
	serving := regexp.MustCompile(`serving the gate API at (http://\S+) .*\n  token: (\S+)`)
	var m []string
	for m == nil {
		select {
		case code := <-done:
			t.Fatalf("demo ended with %d before serving:\n%s%s", code, out.String(), errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
		m = serving.FindStringSubmatch(out.String())
	}
	url, token := m[1], m[2]

	body := `{"service": "checkout", "patch_id": "p-1", "stage": "canary"}`
	req, err := http.NewRequest(http.MethodPost, url+"/v1/gate", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		EvaluatedAt time.Time `json:"evaluated_at"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	defer func() {
		if d.EvaluatedAt.Before(now.Add(-2*time.Minute)) || d.EvaluatedAt.After(now.Add(time.Minute)) {
			t.Errorf("the served gate decides at %s; the wall clock says %s", d.EvaluatedAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}()

	// The printed report URL: the lead times /metrics exports are in it,
	// and the rollbacks table and chart agree.
	req, err = http.NewRequest(http.MethodGet, url+"/reports/coverage?format=json&period=6h", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var r report.Report
	if err := json.NewDecoder(resp2.Body).Decode(&r); err != nil {
		t.Fatalf("report: HTTP %d: %v", resp2.StatusCode, err)
	}
	deployed := 0.0
	for _, lt := range r.LeadTimes {
		if lt.Metric == report.TimeToDeploy {
			deployed += lt.Count
		}
	}
	if deployed == 0 {
		t.Errorf("the demo's report has no time_to_deploy observations: %+v (notes %q)", r.LeadTimes, r.Notes)
	}
	charted := 0.0
	for _, tr := range r.Trends {
		for _, s := range tr.Series {
			if s.Name == "rollbacks" {
				for _, p := range s.Points {
					charted += p.V
				}
			}
		}
	}
	if r.Rollbacks.Total == 0 || float64(r.Rollbacks.Total) != charted {
		t.Errorf("rollbacks: %d in the table, %v in the chart; want the demo's rollback in both", r.Rollbacks.Total, charted)
	}
}

// TestDemo runs `make demo` as a user would and checks what it prints:
// the healthy patch goes through every stage, the error regression and
// the latency regression are stopped at the canary with the check that
// caught them, the audit log verifies, and the closing backtest replays
// the demo's own stages under a stricter policy.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo simulates two hours of a fleet")
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--speed", "200"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"checkout  finished",
		"payments  rolled back at canary",
		"search    rolled back at canary",
		"NO_GO error_delta failed",
		"NO_GO latency_delta failed",
		"hash chain intact: true",
		"backtest: the demo's 6 stages replayed under error_delta margin_pp: 0.05 instead of margin_pp: 0.5",
		"checkout canary openssl-3.0.15-CVE-2026-1234 go at minute 3 → go at minute",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo did not print %q:\n%s", want, out)
		}
	}
}
