package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/patchgate/patchgate/gate"
)

// rate is what one load phase achieved.
type rate struct {
	name string
	// generator is the load generator of an HTTP phase ("" in process);
	// ceiling marks the phase serving fixed bytes without the gate.
	generator  string
	ceiling    bool
	requests   int
	elapsed    time.Duration
	p50, p99   time.Duration // per request, as the caller saw it
	failures   int
	firstError string
}

func (r rate) perSecond() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// worker runs one caller's loop until the deadline and keeps its
// latencies; do returns an error for a failed request.
type worker func() error

// drive runs n callers for d and merges what they saw.
func drive(ctx context.Context, name string, n int, d time.Duration, newWorker func(i int) worker) rate {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	lat := make([][]time.Duration, n)
	fails := make([]int, n)
	firsts := make([]string, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(i)
			for ctx.Err() == nil {
				t := time.Now()
				if err := w(); err != nil {
					if ctx.Err() != nil {
						return // cut off by the deadline
					}
					fails[i]++
					if firsts[i] == "" {
						firsts[i] = err.Error()
					}
					continue
				}
				lat[i] = append(lat[i], time.Since(t))
			}
		}()
	}
	wg.Wait()
	r := rate{name: name, elapsed: time.Since(start)}
	var all []time.Duration
	for i := range n {
		all = append(all, lat[i]...)
		r.failures += fails[i]
		if r.firstError == "" {
			r.firstError = firsts[i]
		}
	}
	r.requests = len(all)
	slices.Sort(all)
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[min(len(all)*99/100, len(all)-1)]
	}
	return r
}

// httpWorker POSTs body to url with the bearer token over a keep-alive
// connection and reads the whole answer; the first answer is decoded and
// must carry decision id want (when want is set).
func httpWorker(client *http.Client, url string, body []byte, want string) worker {
	checked := want == ""
	return func() error {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		if checked {
			_, err = io.Copy(io.Discard, resp.Body)
			return err
		}
		var d gate.Decision
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			return err
		}
		if d.ID != want {
			return fmt.Errorf("answer %q, want the current look's decision %q", d.ID, want)
		}
		checked = true
		return nil
	}
}

func newClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true,
	}}
}

// throughput measures, in one run, asks answered from the current
// minute's look: by the engine alone, by the HTTP handler in process (no
// network), over loopback HTTP, and the loopback ceiling: a handler that
// writes the same answer's bytes and does nothing else.
func throughput(ctx context.Context, g *gateEnv, o options, dir string) ([]rate, error) {
	conns, d := o.connections, o.duration
	const patch = "load-1"
	first, err := g.engine.Decide(ctx, request(patch))
	if err != nil {
		return nil, err
	}
	answer, err := json.Marshal(first)
	if err != nil {
		return nil, err
	}
	body := requestBody(patch)
	var out []rate
	procs := parallelism()

	out = append(out, drive(ctx, "engine.Decide, in process", procs, d, func(int) worker {
		req := request(patch)
		return func() error {
			got, err := g.engine.Decide(ctx, req)
			if err == nil && got.ID != first.ID {
				err = fmt.Errorf("answer %q, want %q", got.ID, first.ID)
			}
			return err
		}
	}))

	h := g.server.Handler()
	out = append(out, drive(ctx, "HTTP handler, in process (no network)", procs, d, func(int) worker {
		return func() error {
			req := httptest.NewRequest(http.MethodPost, "/v1/gate", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				return fmt.Errorf("status %d: %s", rec.Code, rec.Body.String())
			}
			return nil
		}
	}))

	for _, target := range []struct {
		name    string
		ceiling bool
		handler http.Handler
	}{
		{fmt.Sprintf("HTTP over loopback, %d connections", conns), false, h},
		{"loopback ceiling: same answer bytes, no gate", true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(answer)
		})},
	} {
		url, stop, err := serve(target.handler)
		if err != nil {
			return nil, err
		}
		client := newClient(conns)
		r := drive(ctx, target.name, conns, d, func(int) worker {
			return httpWorker(client, url+"/v1/gate", body, first.ID)
		})
		r.generator, r.ceiling = "Go net/http client", target.ceiling
		out = append(out, r)
		client.CloseIdleConnections()
		if o.wrk != "" {
			r, err := wrkLoad(ctx, o.wrk, dir, target.name, url+"/v1/gate", body, conns, d)
			if err != nil {
				return nil, err
			}
			r.generator, r.ceiling = "wrk, 2 threads", target.ceiling
			out = append(out, r)
		}
		if err := stop(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
