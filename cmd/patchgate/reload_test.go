package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/testbed"
	"github.com/patchgate/patchgate/server"
)

const reloadToken = "reload-token-0123456789"

// reloadConfig is a config whose policy revision follows objective.
func reloadConfig(dir string, objective string) string {
	return fmt.Sprintf(`source: {type: embedded}
store: {dsn: %q}
tokens: [{name: ci, token: %q, scopes: [gate]}]
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
    slo: {objective: %s}
    checks: {burn_rate: {}}
    stages: [{name: canary}]
`, filepath.Join(dir, "s.db"), reloadToken, objective)
}

// blockingSource holds every query while hold is open, so a request can
// be caught in flight.
type blockingSource struct {
	metricsource.Source
	hold    atomic.Pointer[chan struct{}]
	arrived chan struct{}
}

func (s *blockingSource) Query(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	s.wait()
	return s.Source.Query(ctx, q, ts)
}

func (s *blockingSource) QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	s.wait()
	return s.Source.QueryRange(ctx, q, start, end, step)
}

func (s *blockingSource) wait() {
	if hold := s.hold.Load(); hold != nil {
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		<-*hold
	}
}

type reloadFixture struct {
	t      *testing.T
	path   string
	dir    string
	app    *app
	client *server.Client
	url    string
	log    *syncBuffer
	now    time.Time
}

func newReloadFixture(t *testing.T, src metricsource.Source) *reloadFixture {
	t.Helper()
	f := &reloadFixture{t: t, dir: t.TempDir(), log: &syncBuffer{}, now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	f.path = filepath.Join(f.dir, "patchgate.yaml")
	f.write("99")
	cfg, err := config.Load(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if src == nil {
		src = testbed.Source(t)
	}
	a, err := newApp(t.Context(), cfg, appOptions{source: src, now: func() time.Time { return f.now },
		logger: slog.New(slog.NewTextHandler(f.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(ts.Close)
	f.app, f.url, f.client = a, ts.URL, &server.Client{URL: ts.URL, Token: reloadToken}
	return f
}

func (f *reloadFixture) write(objective string) {
	f.t.Helper()
	if err := os.WriteFile(f.path, []byte(reloadConfig(f.dir, objective)), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// revision asks the gate and returns the answer's policy revision.
func (f *reloadFixture) revision() string {
	f.t.Helper()
	f.now = f.now.Add(time.Minute) // a new look, never a cached answer
	d, err := f.client.Gate(context.Background(), gate.Request{Service: "checkout", PatchID: "p1", Stage: "canary"})
	if err != nil {
		f.t.Fatal(err)
	}
	return d.PolicyRevision
}

// metric returns the value of a series on /metrics.
func (f *reloadFixture) metric(name string) string {
	f.t.Helper()
	resp, err := http.Get(f.url + "/metrics")
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	f.t.Fatalf("/metrics has no %s", name)
	return ""
}

// A reload (SIGHUP calls it) serves the new config; an invalid one is
// refused with its problems at file:line in the log, the old revision
// keeps answering and the reload metric says 0 until a good one comes.
func TestReload(t *testing.T) {
	f := newReloadFixture(t, nil)
	first := f.revision()
	if got := f.metric("patchgate_config_last_reload_successful"); got != "1" {
		t.Errorf("at start: patchgate_config_last_reload_successful %s, want 1", got)
	}
	started := f.metric("patchgate_config_last_reload_success_timestamp_seconds")

	if err := os.WriteFile(f.path, []byte(strings.Replace(reloadConfig(f.dir, "99"), "objective: 99", "objective: 150", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.app.reload(f.path); err == nil {
		t.Fatal("reload of an invalid config succeeded")
	}
	if got := f.revision(); got != first {
		t.Errorf("after a refused reload: policy_revision %s, want the old %s", got, first)
	}
	if got := f.metric("patchgate_config_last_reload_successful"); got != "0" {
		t.Errorf("after a refused reload: patchgate_config_last_reload_successful %s, want 0", got)
	}
	if got := f.metric("patchgate_config_last_reload_success_timestamp_seconds"); got != started {
		t.Errorf("after a refused reload: last success %s, want still %s", got, started)
	}
	if log := f.log.String(); !strings.Contains(log, f.path+":9:") || !strings.Contains(log, "slo.objective") || !strings.Contains(log, "config reload refused") {
		t.Errorf("log does not name the problem at its file:line:\n%s", log)
	}

	f.write("99.5")
	if err := f.app.reload(f.path); err != nil {
		t.Fatal(err)
	}
	if got := f.revision(); got == first {
		t.Errorf("after a reload: policy_revision still %s", got)
	}
	if got := f.metric("patchgate_config_last_reload_successful"); got != "1" {
		t.Errorf("after a good reload: patchgate_config_last_reload_successful %s, want 1", got)
	}
}

// SIGHUP and a change of the file's content both reload.
func TestReloadWatch(t *testing.T) {
	f := newReloadFixture(t, nil)
	first := f.revision()
	hup := make(chan os.Signal)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	last := fileSum(f.path)
	go func() { f.app.watch(ctx, f.path, 10*time.Millisecond, hup, last); close(done) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not seen", what)
			}
		}
	}
	f.write("99.5")
	waitFor("a reload after the file changed", func() bool { return f.app.cfg().Services[0].SLO.Objective == 99.5 })
	if got := f.revision(); got == first {
		t.Errorf("after the file changed: policy_revision still %s", got)
	}
	// SIGHUP: a watcher that would not look at the file for an hour.
	cancel()
	<-done
	ctx2, cancel2 := context.WithCancel(t.Context())
	done2 := make(chan struct{})
	defer func() { cancel2(); <-done2 }()
	last = fileSum(f.path)
	go func() { f.app.watch(ctx2, f.path, time.Hour, hup, last); close(done2) }()
	f.write("99.9")
	hup <- syscall.SIGHUP
	waitFor("a reload on SIGHUP", func() bool { return f.app.cfg().Services[0].SLO.Objective == 99.9 })
}

// A request in flight during a reload finishes on the revision it started
// with; the next one is answered by the new revision.
func TestReloadInFlight(t *testing.T) {
	src := &blockingSource{Source: testbed.Source(t), arrived: make(chan struct{}, 1)}
	f := newReloadFixture(t, src)
	first := f.revision()
	hold := make(chan struct{})
	src.hold.Store(&hold)

	f.now = f.now.Add(time.Minute)
	answer := make(chan gate.Decision, 1)
	go func() {
		d, err := f.client.Gate(context.Background(), gate.Request{Service: "checkout", PatchID: "p1", Stage: "canary"})
		if err != nil {
			t.Error(err)
		}
		answer <- d
	}()
	<-src.arrived // the ask is querying the source under the first revision
	f.write("99.5")
	if err := f.app.reload(f.path); err != nil {
		t.Fatal(err)
	}
	close(hold)
	if d := <-answer; d.PolicyRevision != first {
		t.Errorf("the ask in flight answered on revision %s, want the one it started with, %s", d.PolicyRevision, first)
	}
	if got := f.revision(); got == first {
		t.Errorf("the next ask: revision %s, want the reloaded one", got)
	}
}

// cfg is the current revision's config.
func (a *app) cfg() *config.Config { return a.current.Load().cfg }
