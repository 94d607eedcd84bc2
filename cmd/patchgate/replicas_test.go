package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/patchgate/patchgate/internal/testenv"
)

// TestReplicasUnderFaults runs two `serve` processes on one PostgreSQL
// and asks both at once, identical asks side by side, while posting
// events to both; in the middle one replica is killed with SIGKILL (and
// started again) and PostgreSQL is crashed (immediate shutdown) and
// restarted. Afterwards:
//   - every decision and event answered with a 2xx is in the store;
//   - `audit verify` passes;
//   - each stage attempt's look has one decision, whichever replica was
//     asked: identical asks to both replicas got one decision id;
//   - no more services were granted a concurrency slot than the limit.
//
// It starts its own PostgreSQL cluster (initdb into a temporary folder)
// so that it can crash it; with only PATCHGATE_TEST_POSTGRES_DSN it runs
// on that server without the restart, and says so.
func TestReplicasUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos test of two replicas (about 30 s): not with -short")
	}
	pg := startPostgres(t)
	prom := fakePrometheus(t)

	const limit = 2
	services := []string{"svc-0", "svc-1", "svc-2", "svc-3", "svc-4", "svc-5"}
	dir := t.TempDir()
	var svcs strings.Builder
	for _, s := range services {
		fmt.Fprintf(&svcs, `
  - name: %s
    sli:
      errors: sum(rate(http_requests_total{service="%s",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="%s"}[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99}
    checks: {min_traffic: {requests: 10}}
    stages: [{name: canary, max_wait: 60m}]
`, s, s, s)
	}
	config := fmt.Sprintf(`
source: {type: prometheus, url: "%s", timeout: 5s}
store: {driver: postgres, dsn: "%s"}
tokens: [{name: chaos, token: "chaos-token-0123456789", scopes: [gate, events]}]
concurrency: {max_services: %d}
services:%s`, prom, pg.dsn, limit, svcs.String())
	path := filepath.Join(dir, "patchgate.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	replicas := []*replica{newReplica(t, path, "a"), newReplica(t, path, "b")}
	for _, r := range replicas {
		r.start(t)
	}
	t.Cleanup(func() {
		for _, r := range replicas {
			r.stop()
		}
	})
	for _, r := range replicas {
		r.waitReady(t, 30*time.Second)
	}

	// The stage started five minutes ago: every ask is at look 5 or 6.
	started := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Second)
	rec := &record{}
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var round atomic.Int64
	for w := range 6 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				n := round.Add(1)
				svc := services[rng.IntN(len(services))]
				// A new attempt every 40 rounds: fresh decisions all along.
				body := fmt.Sprintf(`{"service":%q,"patch_id":"p1","stage":"canary","params":{"attempt":"%d","stage_started_at":%q}}`,
					svc, n/40, started.Format(time.RFC3339))
				// The same ask to both replicas at once.
				var pair sync.WaitGroup
				for _, r := range replicas {
					pair.Go(func() { rec.ask(r, body) })
				}
				pair.Wait()
				if n%3 == 0 {
					r := replicas[rng.IntN(len(replicas))]
					rec.event(r, svc, fmt.Sprintf("k-%d-%d", w, n))
				}
			}
		})
	}

	step := func(what string, d time.Duration) {
		t.Logf("%s: %d decisions and %d events acknowledged so far", what, rec.acked(), rec.eventsAcked())
		time.Sleep(d)
	}
	step("load running on both replicas", 5*time.Second)
	replicas[1].kill(t)
	step("replica b killed with SIGKILL", 3*time.Second)
	if pg.restart != nil {
		pg.restart(t)
		step("PostgreSQL crashed (immediate shutdown) and restarted", 2*time.Second)
	} else {
		t.Log("SKIPPING the PostgreSQL restart: the test did not start this PostgreSQL (" + testenv.PostgresEnv +
			" given, no initdb usable), so it cannot crash it")
	}
	replicas[1].start(t)
	replicas[1].waitReady(t, 30*time.Second)
	before := rec.acked()
	step("replica b started again", 6*time.Second)
	stopLoad()
	wg.Wait()
	if rec.acked() == before {
		t.Fatalf("no decision acknowledged after the faults (answers: %v)", rec.statuses())
	}
	t.Logf("done: %d decisions and %d events acknowledged; answers by status: %v", rec.acked(), rec.eventsAcked(), rec.statuses())
	for _, r := range replicas {
		r.stop()
	}

	db, err := sql.Open("pgx", pg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// 0 acknowledged writes lost.
	stored := map[string]storedDecision{}
	rows, err := db.QueryContext(t.Context(), "SELECT id, service, attempt, body FROM decisions")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			d    storedDecision
			body []byte
		)
		if err := rows.Scan(&d.id, &d.service, &d.attempt, &body); err != nil {
			t.Fatal(err)
		}
		var b answeredDecision
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatalf("decision %s: %v", d.id, err)
		}
		d.look, d.controls = b.Window.Look, b.controls()
		stored[d.id] = d
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for id := range rec.decisions {
		if _, ok := stored[id]; !ok {
			lost++
			if lost <= 5 {
				t.Errorf("decision %s was answered with 200 but is not in the store", id)
			}
		}
	}
	events := map[string]bool{}
	evRows, err := db.QueryContext(t.Context(), "SELECT id FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for evRows.Next() {
		var id string
		if err := evRows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		events[id] = true
	}
	for id := range rec.events {
		if !events[id] {
			lost++
			if lost <= 10 {
				t.Errorf("event %s was answered with 2xx but is not in the store", id)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged writes lost", lost)
	}

	// One decision per stage attempt and look, across replicas, while the
	// operator controls answer the same (a place in line that changed
	// within the minute is a new decision, as docs/decisions.md says).
	perLook := map[string][]string{}
	for _, d := range stored {
		k := fmt.Sprintf("%s attempt %s look %d %s", d.service, d.attempt, d.look, d.controls)
		perLook[k] = append(perLook[k], d.id)
	}
	for k, ids := range perLook {
		if len(ids) > 1 {
			sort.Strings(ids)
			t.Errorf("%s: %d decisions recorded (%s), want 1", k, len(ids), strings.Join(ids, ", "))
		}
	}
	rec.mu.Lock()
	for k, ids := range rec.looks {
		if len(ids) > 1 {
			t.Errorf("%s: answered with %d decision ids, want 1", k, len(ids))
		}
	}
	// Slots never over-granted: nobody finishes in this test, so the
	// services ever answered with a granted slot are all patching at once.
	granted := slices.Sorted(maps.Keys(rec.granted))
	rec.mu.Unlock()
	if len(granted) > limit {
		t.Errorf("services granted a concurrency slot: %v, more than the limit of %d", granted, limit)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM rollout_slots WHERE granted_at <> ''").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > limit {
		t.Errorf("%d granted slots stored, more than the limit of %d", n, limit)
	}

	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"audit", "verify", "--config", path}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "audit log OK") {
		t.Errorf("audit verify exited %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	t.Logf("store: %d decisions over %d looks; %d events; granted: %v; %s", len(stored), len(perLook), len(events), granted,
		strings.TrimSpace(strings.SplitN(stdout.String(), "\n", 2)[0]))
}

type storedDecision struct {
	id, service, attempt string
	look                 int
	controls             string
}

// answeredDecision is what the invariants read of a decision.
type answeredDecision struct {
	ID      string `json:"decision_id"`
	Service string `json:"service"`
	Attempt string `json:"attempt"`
	Window  struct{ Look int }
	Checks  []struct {
		Name    string             `json:"name"`
		Verdict string             `json:"verdict"`
		Details map[string]float64 `json:"details"`
	} `json:"checks"`
}

// controls says what the operator controls found: the verdict of each,
// and the place in the concurrency line.
func (d answeredDecision) controls() string {
	var parts []string
	for _, c := range d.Checks {
		switch c.Name {
		case "window", "freeze", "concurrency":
			parts = append(parts, fmt.Sprintf("%s=%s@%g", c.Name, c.Verdict, c.Details["position"]))
		}
	}
	return strings.Join(parts, ",")
}

// record is what the load saw acknowledged.
type record struct {
	mu        sync.Mutex
	decisions map[string]bool
	events    map[string]bool
	// looks maps an attempt's look to the decision ids answered for it.
	looks   map[string]map[string]bool
	granted map[string]bool
	status  map[string]int
}

var chaosClient = &http.Client{Timeout: 15 * time.Second}

func (rec *record) post(r *replica, path, body string, header map[string]string) (int, []byte) {
	req, err := http.NewRequest(http.MethodPost, r.base()+path, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "Bearer chaos-token-0123456789")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := chaosClient.Do(req)
	status := "connection error"
	code := 0
	var b []byte
	if err == nil {
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		code = resp.StatusCode
		status = strconv.Itoa(code)
	}
	rec.mu.Lock()
	if rec.status == nil {
		rec.status = map[string]int{}
	}
	kind := "gate"
	if strings.HasSuffix(path, "/events") {
		kind = "event"
	}
	rec.status[kind+" "+status]++
	rec.mu.Unlock()
	return code, b
}

func (rec *record) ask(r *replica, body string) {
	code, b := rec.post(r, "/v1/gate", body, nil)
	if code != http.StatusOK {
		return
	}
	var d answeredDecision
	if err := json.Unmarshal(b, &d); err != nil || d.ID == "" {
		panic(fmt.Sprintf("200 without a decision: %s", b))
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.decisions == nil {
		rec.decisions, rec.looks, rec.granted = map[string]bool{}, map[string]map[string]bool{}, map[string]bool{}
	}
	rec.decisions[d.ID] = true
	k := fmt.Sprintf("%s attempt %s look %d %s", d.Service, d.Attempt, d.Window.Look, d.controls())
	if rec.looks[k] == nil {
		rec.looks[k] = map[string]bool{}
	}
	rec.looks[k][d.ID] = true
	for _, c := range d.Checks {
		if c.Name == "concurrency" && c.Verdict == "pass" {
			rec.granted[d.Service] = true
		}
	}
}

func (rec *record) event(r *replica, service, key string) {
	body := fmt.Sprintf(`{"type":"tested","service":%q,"time":%q}`, service, time.Now().UTC().Format(time.RFC3339Nano))
	code, b := rec.post(r, "/v1/patches/p1/events", body, map[string]string{"Idempotency-Key": key})
	if code/100 != 2 {
		return
	}
	var e struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.ID == "" {
		panic(fmt.Sprintf("%d without an event: %s", code, b))
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.events == nil {
		rec.events = map[string]bool{}
	}
	rec.events[e.ID] = true
}

func (rec *record) acked() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.decisions)
}

func (rec *record) eventsAcked() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.events)
}

func (rec *record) statuses() map[string]int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return maps.Clone(rec.status)
}

// replica is one `serve` process: this test binary running main.
type replica struct {
	name, config string
	port         int
	cmd          *exec.Cmd
	done         chan struct{}
	out          *syncBuffer
}

func newReplica(t *testing.T, config, name string) *replica {
	return &replica{name: name, config: config, port: testenv.FreePort(t), out: &syncBuffer{}}
}

func (r *replica) base() string { return "http://127.0.0.1:" + itoa(r.port) }

func (r *replica) start(t *testing.T) {
	t.Helper()
	r.cmd = exec.Command(os.Args[0], "serve", "--config", r.config, "--listen", "127.0.0.1:"+itoa(r.port))
	r.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("replica %s: %v", r.name, err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(r.cmd, r.done)
}

func (r *replica) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(r.base() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-r.done:
			t.Fatalf("replica %s exited: %s", r.name, r.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not serving after %s: %s", r.name, within, r.out.String())
		}
	}
}

// kill ends the replica with SIGKILL: no drain, no deferred close.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

func (r *replica) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// fakePrometheus answers every instant query with one sample of 100 and
// every range query with one series of 100 at each step: min_traffic
// passes, and the answers never change.
func fakePrometheus(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/query", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		ts := r.Form.Get("time")
		if ts == "" {
			ts = strconv.FormatInt(time.Now().Unix(), 10)
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%s,"100"]}]}}`, ts)
	})
	mux.HandleFunc("/api/v1/query_range", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		start, err1 := strconv.ParseFloat(r.Form.Get("start"), 64)
		end, err2 := strconv.ParseFloat(r.Form.Get("end"), 64)
		step, err3 := strconv.ParseFloat(r.Form.Get("step"), 64)
		if err1 != nil || err2 != nil || err3 != nil || step <= 0 {
			http.Error(w, `{"status":"error","errorType":"bad_data","error":"bad range"}`, http.StatusBadRequest)
			return
		}
		var pts []string
		for ts := start; ts <= end; ts += step {
			pts = append(pts, fmt.Sprintf(`[%s,"100"]`, strconv.FormatFloat(ts, 'f', -1, 64)))
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[%s]}]}}`, strings.Join(pts, ","))
	})
	port := testenv.FreePort(t)
	srv := &http.Server{Addr: "127.0.0.1:" + itoa(port), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.ListenAndServe()
	t.Cleanup(func() { srv.Close() })
	return "http://127.0.0.1:" + itoa(port)
}

// testPostgres is a PostgreSQL for the test: restart, when set, crashes
// it (immediate shutdown, recovery on start) and starts it again.
type testPostgres struct {
	dsn     string
	restart func(t *testing.T)
}

// startPostgres starts a private PostgreSQL cluster (initdb into a
// temporary folder, on a free port; as user postgres when the test runs
// as root), or, when that is not possible, uses PATCHGATE_TEST_POSTGRES_DSN
// without a restart, or skips loudly (fails under CI).
func startPostgres(t *testing.T) testPostgres {
	t.Helper()
	bin, why := postgresBin()
	if bin == "" {
		t.Logf("no private PostgreSQL: %s", why)
		return testPostgres{dsn: testenv.Postgres(t)}
	}
	dir, err := os.MkdirTemp("", "patchgate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var asUser []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Logf("no private PostgreSQL: running as root and %v", err)
			return testPostgres{dsn: testenv.Postgres(t)}
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pgRun := func(name string, args ...string) error {
		argv := append(append(slices.Clone(asUser), filepath.Join(bin, name)), args...)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := pgRun("initdb", "-D", data, "-A", "trust", "-U", "patchgate", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatal(err)
	}
	port := testenv.FreePort(t)
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on", port, dir)
	start := func() error {
		return pgRun("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pgRun("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop") })
	return testPostgres{
		dsn: fmt.Sprintf("postgres://patchgate@127.0.0.1:%d/postgres?sslmode=disable", port),
		restart: func(t *testing.T) {
			t.Helper()
			if err := pgRun("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
				t.Fatal(err)
			}
			if err := start(); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// postgresBin returns the newest PostgreSQL server's bin folder, or why
// there is none.
func postgresBin() (string, string) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", "no /usr/lib/postgresql/*/bin/initdb (Debian package postgresql)"
	}
	sort.Slice(found, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[j]))))
		return vi < vj
	})
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("runuser"); err != nil {
			return "", "running as root without runuser"
		}
	}
	return filepath.Dir(found[len(found)-1]), ""
}
