// Command benchload measures the gate under load on this machine, with
// the baselines it is compared with measured in the same run: asks served
// from the current minute's look (engine, HTTP handler, HTTP over loopback
// against a handler that only writes the same bytes), the queries 100
// concurrent identical asks send, and the memory each active stage
// attempt holds. docs/performance.md holds a run.
//
//	go run ./cmd/benchload              # full run (make bench)
//	go run ./cmd/benchload -short       # seconds (CI)
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

type options struct {
	duration    time.Duration // per load phase
	connections int
	hosts       int // the service has 2×hosts series
	rollouts    int
	asks        int
	wrk         string // path of wrk, or "" to use the Go client only
	cpuProfile  string // file for a CPU profile of the run, "" for none
	postgres    string // DSN of a PostgreSQL database for the store phases, "" for SQLite only
	short       bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("benchload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each load phase runs")
	fs.IntVar(&o.connections, "connections", 64, "concurrent keep-alive connections of the HTTP load generator")
	fs.IntVar(&o.hosts, "hosts", 20, "hosts of the service: 2 series (code 200 and 500) each; asks answered from a look do not query, so only the uncached decisions of the memory and concurrency phases depend on it (the Go benchmarks time uncached decisions at 1,000 series)")
	fs.IntVar(&o.rollouts, "rollouts", 1000, "active stage attempts for the memory measurement")
	fs.IntVar(&o.asks, "asks", 100, "concurrent identical asks")
	wrk := fs.String("wrk", "auto", "also load the HTTP API with wrk (Debian package wrk): auto (when installed), on or off")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	fs.StringVar(&o.postgres, "postgres", os.Getenv("PATCHGATE_TEST_POSTGRES_DSN"), "PostgreSQL connection string for the store phases (fresh asks, two replicas); default $PATCHGATE_TEST_POSTGRES_DSN; each run works in a schema of its own, dropped at the end")
	short := fs.Bool("short", false, "a run of a few seconds for CI: 300ms phases, 20 hosts, 50 rollouts, no wrk")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.short = *short
	if *short {
		o.duration, o.hosts, o.rollouts, *wrk = 300*time.Millisecond, 20, 50, "off"
	}
	switch *wrk {
	case "off":
	case "auto", "on":
		path, err := exec.LookPath("wrk")
		if err != nil && *wrk == "on" {
			return options{}, fmt.Errorf("-wrk on: %w (apt-get install wrk)", err)
		}
		o.wrk = path
	default:
		return options{}, fmt.Errorf("-wrk must be auto, on or off, got %q", *wrk)
	}
	switch {
	case o.duration <= 0:
		return options{}, fmt.Errorf("-duration must be positive, got %s", o.duration)
	case o.connections < 1 || o.hosts < 1 || o.rollouts < 1 || o.asks < 1:
		return options{}, fmt.Errorf("-connections, -hosts, -rollouts and -asks must be at least 1")
	}
	return o, nil
}

// targetRate is the design's target for asks answered from the current
// look: 20,000 a second on 2 cores.
const targetRate = 20000

// parallelism is how many callers in-process phases use.
func parallelism() int { return runtime.GOMAXPROCS(0) }

// measurement is everything one run measured.
type measurement struct {
	rates  []rate
	crowd  crowd
	memory footprint
	// store holds the fresh-ask and replica phases with their baselines.
	store []rate
	// loadBefore and loadAfter are the machine's 1-minute load average
	// when the run began and ended: other work on the same cores shows.
	loadBefore, loadAfter string
}

func measure(ctx context.Context, o options, dir string, m measurement) (measurement, error) {
	src, err := newSource(ctx, dir, o.hosts)
	if err != nil {
		return m, err
	}
	defer src.Close()
	for i, step := range []func(dir string) error{
		func(dir string) error {
			g, err := newGate(ctx, dir, src)
			if err != nil {
				return err
			}
			defer g.Close()
			m.rates, err = throughput(ctx, g, o, dir)
			return err
		},
		func(dir string) (err error) {
			m.crowd, err = concurrentAsks(ctx, dir, src, o.asks)
			return err
		},
		func(dir string) (err error) {
			m.memory, err = memoryPerAttempt(ctx, dir, src, o.rollouts)
			return err
		},
		func(dir string) error {
			dbs := []database{sqliteDatabase(dir)}
			if o.postgres != "" {
				pg, err := postgresDatabase(ctx, o.postgres)
				if err != nil {
					return err
				}
				defer pg.drop()
				dbs = append(dbs, pg)
			}
			for _, db := range dbs {
				asks, raw, err := freshAsks(ctx, o, db, src)
				if err != nil {
					return fmt.Errorf("fresh asks on %s: %w", db.name, err)
				}
				m.store = append(m.store, asks, raw)
			}
			if o.postgres != "" && !o.short {
				pg, err := postgresDatabase(ctx, o.postgres)
				if err != nil {
					return err
				}
				defer pg.drop()
				rs, err := replicaAsks(ctx, o, pg, src)
				if err != nil {
					return fmt.Errorf("two replicas: %w", err)
				}
				m.store = append(m.store, rs...)
			}
			return nil
		},
	} {
		sub, err := os.MkdirTemp(dir, fmt.Sprintf("step%d-", i))
		if err != nil {
			return m, err
		}
		if err := step(sub); err != nil {
			return m, err
		}
	}
	return m, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "benchload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	m := measurement{loadBefore: loadAverage()}
	m, err = measure(ctx, o, dir, m)
	if err != nil {
		return err
	}
	m.loadAfter = loadAverage()
	if err := report(stdout, o, m); err != nil {
		return err
	}
	var problems []string
	for _, r := range append(slices.Clone(m.rates), m.store...) {
		if r.failures > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d failed requests (first: %s)", r.name, r.failures, r.firstError))
		}
	}
	if m.crowd.sent != m.crowd.oneSet || m.crowd.decisions != 1 || m.crowd.recorded != 1 {
		problems = append(problems, fmt.Sprintf("%d concurrent identical asks sent %d queries (one set is %d), answered %d decision(s), recorded %d",
			m.crowd.asks, m.crowd.sent, m.crowd.oneSet, m.crowd.decisions, m.crowd.recorded))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func report(out io.Writer, o options, m measurement) error {
	w := bufio.NewWriter(out)
	fmt.Fprintf(w, "Machine: %s, %d CPUs (GOMAXPROCS %d), %s %s/%s.\n", cpuModel(), runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "Service of %d series; each load phase %s; the load generators run on the same cores as the gate. "+
		"Load average %s at the start, %s at the end.\n\n", 2*o.hosts, o.duration, m.loadBefore, m.loadAfter)

	fmt.Fprintln(w, "### Asks answered from the current minute's look")
	fmt.Fprintln(w)
	if o.wrk == "" {
		fmt.Fprintln(w, "Without wrk (Debian package wrk, or -wrk off): the Go client costs about as much CPU as the server.")
		fmt.Fprintln(w)
	}
	ceiling := map[string]float64{}
	for _, r := range m.rates {
		if r.ceiling {
			ceiling[r.generator] = r.perSecond()
		}
	}
	fmt.Fprintln(w, "| path | load generator | answers/s | ÷ 20,000/s target | ÷ loopback ceiling, same generator | p50 | p99 | failed |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range m.rates {
		gen, ratio := r.generator, "—"
		if gen == "" {
			gen = fmt.Sprintf("%d goroutines in process", parallelism())
		} else if c := ceiling[r.generator]; c > 0 {
			ratio = fmt.Sprintf("%.2f×", r.perSecond()/c)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f× | %s | %s | %s | %d |\n", r.name, gen, count(r.perSecond()),
			r.perSecond()/targetRate, ratio, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.failures)
	}
	fmt.Fprintln(w)

	c := m.crowd
	fmt.Fprintln(w, "### Concurrent identical asks")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%d asks for one new stage attempt at once over HTTP sent %d queries to the source; one ask alone sends %d. "+
		"They got %d decision id(s); the store recorded %d decision(s) for the attempt.\n\n", c.asks, c.sent, c.oneSet, c.decisions, c.recorded)

	fmt.Fprintln(w, "### Fresh asks and replicas (durable writes)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Fresh asks: %d callers at once, each ask a new stage attempt (every check queries; attempt and answer synced before the answer). "+
		"Baseline: the same answers' rows INSERTed into a bare table, one synced statement each, by as many callers. "+
		"Replicas: %d rollouts in the concurrency line over two engines on one PostgreSQL, a minute turning every 10 s (clock 6× the wall clock).\n", freshCallers, queueLength)
	if o.postgres == "" {
		fmt.Fprintln(w, "No -postgres (or PATCHGATE_TEST_POSTGRES_DSN): SQLite only, no replicas.")
	} else if o.short {
		fmt.Fprintln(w, "-short: no replica phase.")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| phase | answers/s | p50 | p99 | failed |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, r := range m.store {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d |\n", r.name, count(r.perSecond()), r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.failures)
	}
	fmt.Fprintln(w)

	f := m.memory
	fmt.Fprintln(w, "### Memory per active stage attempt")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%s active stage attempts (one ask each, every check on): the live Go heap grew by %s bytes per attempt "+
		"(one answer is %s bytes of JSON).\n", count(float64(f.attempts)), count(f.perAttempt), count(float64(f.answerBytes)))
	return w.Flush()
}

// loadAverage reads the 1-minute load average on Linux.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// cpuModel reads the CPU's model name on Linux.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return runtime.GOARCH
}
