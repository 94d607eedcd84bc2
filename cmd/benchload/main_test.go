package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/promtest"
)

// TestShortRun is the CI run of the load benchmark: a few seconds, checking
// that every phase completes without a failed request and reports its
// figures, not what they are.
func TestShortRun(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-short"}, &out, &errs); err != nil {
		t.Fatalf("run -short: %v\n%s", err, errs.String())
	}
	text := out.String()
	for _, want := range []string{
		"| engine.Decide, in process |", "| HTTP handler, in process (no network) |",
		"| HTTP over loopback, 64 connections |", "| loopback ceiling: same answer bytes, no gate |",
		"100 asks for one new stage attempt", "active stage attempts",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "| 0 | —") || strings.Contains(text, "NaN") {
		t.Errorf("a phase measured nothing:\n%s", text)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-duration", "0s"}, {"-asks", "0"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("flags %q accepted", args)
		}
	}
}

// TestConcurrentAsksOverHTTP proves over HTTP what the engine's
// TestConcurrentAsksShareOneEvaluation proves in process: 100 identical
// asks at once cost one set of queries, counted by the gate's source and,
// against a real Prometheus, by Prometheus itself.
func TestConcurrentAsksOverHTTP(t *testing.T) {
	ctx := context.Background()
	t.Run("embedded", func(t *testing.T) {
		src, err := newSource(ctx, t.TempDir(), 20)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		c, err := concurrentAsks(ctx, t.TempDir(), src, 100)
		if err != nil {
			t.Fatal(err)
		}
		checkCrowd(t, c)
	})
	t.Run("prometheus", func(t *testing.T) {
		prom := promtest.Start(t, toSeries(fleetSeries(20)))
		src, err := metricsource.NewHTTP(metricsource.HTTPConfig{URL: prom.URL, Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		before := apiQueries(t, prom.URL)
		c, err := concurrentAsks(ctx, t.TempDir(), src, 100)
		if err != nil {
			t.Fatal(err)
		}
		checkCrowd(t, c)
		// Prometheus answered the warming ask's queries, the lone ask's
		// set and the crowd's, nothing more.
		if got := apiQueries(t, prom.URL) - before; got != c.warm+c.oneSet+c.sent {
			t.Errorf("Prometheus answered %d queries; the gate counted %d for the first ask, %d for the lone ask and %d for the 100", got, c.warm, c.oneSet, c.sent)
		}
	})
}

func checkCrowd(t *testing.T, c crowd) {
	t.Helper()
	if c.oneSet == 0 {
		t.Fatal("one ask sent no query: nothing was measured")
	}
	if c.sent != c.oneSet {
		t.Errorf("%d concurrent identical asks sent %d queries; one set is %d", c.asks, c.sent, c.oneSet)
	}
	if c.decisions != 1 || c.recorded != 1 {
		t.Errorf("%d asks got %d decision ids, %d recorded; want one look, one decision", c.asks, c.decisions, c.recorded)
	}
}

// apiQueries reads Prometheus' own count of answered instant and range
// queries from its /metrics.
func apiQueries(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var n float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "prometheus_http_requests_total{") ||
			!(strings.Contains(line, `handler="/api/v1/query"`) || strings.Contains(line, `handler="/api/v1/query_range"`)) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		n += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// toSeries groups samples by series for promtest.
func toSeries(samples []metricsource.Sample) []promtest.Series {
	index := map[string]int{}
	var out []promtest.Series
	for _, s := range samples {
		labels := map[string]string{}
		for k, v := range s.Labels {
			if k != "__name__" {
				labels[k] = v
			}
		}
		key := fmt.Sprint(labels)
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
