package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/metricsource"
	"github.com/patchgate/patchgate/internal/store"
)

// freshCallers is how many asks of new looks arrive at once in the fresh
// phases: many rollout tools asking at a minute's turn.
const freshCallers = 64

// database is where a store phase writes: SQLite in the run's folder, or
// a fresh schema in the PostgreSQL of -postgres, dropped afterwards.
type database struct {
	name, driver, dsn string
	drop              func()
}

func sqliteDatabase(dir string) database {
	return database{name: "SQLite", driver: "sqlite", dsn: filepath.Join(dir, "fresh.db"), drop: func() {}}
}

// postgresDatabase makes a schema of its own in dsn's database.
func postgresDatabase(ctx context.Context, dsn string) (database, error) {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return database{}, err
	}
	schema := "benchload_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return database{}, fmt.Errorf("-postgres: create schema: %w", err)
	}
	drop := func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			drop()
			return database{}, fmt.Errorf("-postgres: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		dsn = u.String()
	} else {
		dsn += " search_path=" + schema
	}
	return database{name: "PostgreSQL", driver: "postgres", dsn: dsn, drop: drop}, nil
}

// freshAsks measures asks that each need a new decision (a new stage
// attempt: every check queries, and the attempt and the answer are
// written durably before it is returned), freshCallers at once, and in
// the same run the baseline: the same answers' rows INSERTed into a bare
// table, one synced autocommit statement each, by as many callers.
func freshAsks(ctx context.Context, o options, db database, src metricsource.Source) (asks, raw rate, err error) {
	e, closeStore, err := freshEngine(ctx, db, src)
	if err != nil {
		return rate{}, rate{}, err
	}
	defer closeStore()
	var n atomic.Int64
	asks = drive(ctx, "fresh asks, "+db.name, freshCallers, o.duration, func(int) worker {
		return func() error {
			_, err := e.Decide(ctx, request(fmt.Sprintf("fresh-%d", n.Add(1))))
			return err
		}
	})

	raw, err = rawInserts(ctx, o, db, "raw INSERT of the same rows, "+db.name)
	return asks, raw, err
}

// freshEngine is an engine of the benchload policy on a store in db.
func freshEngine(ctx context.Context, db database, src metricsource.Source) (*gate.Engine, func() error, error) {
	cfg, err := config.Parse("benchload.yaml", []byte(policy))
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, db.driver, db.dsn)
	if err != nil {
		return nil, nil, err
	}
	e, err := gate.New(gate.Config{Policy: cfg, Source: metricsource.Instrumented(src, prometheus.NewRegistry()), Store: st, Now: askTime})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return e, st.Close, nil
}

// rawInserts is the baseline of freshAsks: one synced INSERT of an
// answer-sized row per call, no reads, no lock, no chain.
func rawInserts(ctx context.Context, o options, db database, name string) (rate, error) {
	dsn := db.dsn
	if db.driver == "sqlite" {
		dsn += "?_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL"
	}
	driver := map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[db.driver]
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		return rate{}, err
	}
	defer conn.Close()
	blob := map[string]string{"sqlite": "BLOB", "postgres": "BYTEA"}[db.driver]
	if _, err := conn.ExecContext(ctx, "CREATE TABLE raw_rows (id TEXT PRIMARY KEY, service TEXT, patch_id TEXT, stage TEXT, attempt TEXT, verdict TEXT, evaluated_at TEXT, body "+blob+")"); err != nil {
		return rate{}, err
	}
	q := "INSERT INTO raw_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
	if db.driver == "postgres" {
		q = "INSERT INTO raw_rows VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
	}
	body := make([]byte, 4500)
	var n atomic.Int64
	return drive(ctx, name, freshCallers, o.duration, func(int) worker {
		return func() error {
			i := n.Add(1)
			_, err := conn.ExecContext(ctx, q, fmt.Sprintf("r-%d", i), "checkout", fmt.Sprintf("fresh-%d", i), "canary", "1", "go",
				time.Now().UTC().Format(time.RFC3339Nano), body)
			return err
		}
	}), nil
}

// queuePolicy is policy with a concurrency limit that lets one rollout of
// 10 hosts patch cluster c1 at a time: every other rollout waits in line.
var queuePolicy = strings.Replace(policy, "services:", `clusters: [{name: c1, hosts: 1000}]
concurrency: {max_cluster_hosts_percent: 1}
services:`, 1)

// queueLength is how many rollouts wait in the concurrency line.
const queueLength = 500

// replicaAsks measures asks from queueLength rollouts, all in line for
// the concurrency limit, spread over two engines on two stores sharing
// one PostgreSQL database (two replicas), freshCallers at once: first
// with the clock standing (every ask answered from its look, the
// admissions run once a second per rollout and replica), then with the
// clock 6× the wall clock from askTime, so a minute turns every 10 s and
// every rollout's look needs a new decision (the data ends after 10
// minutes, so those find no fresh data: a wait or no_go, evaluated and
// recorded like any). The baseline, in the same run: the same asks on
// one engine with the limit left out.
func replicaAsks(ctx context.Context, o options, db database, src metricsource.Source) ([]rate, error) {
	phase := func(name, text string, engines int, speed time.Duration) (rate, error) {
		cfg, err := config.Parse("benchload.yaml", []byte(text))
		if err != nil {
			return rate{}, err
		}
		start := time.Now()
		clock := func() time.Time { return askTime().Add(speed * time.Since(start)) }
		var es []*gate.Engine
		for range engines {
			st, err := store.Open(ctx, db.driver, db.dsn)
			if err != nil {
				return rate{}, err
			}
			defer st.Close()
			e, err := gate.New(gate.Config{Policy: cfg, Source: metricsource.Instrumented(src, prometheus.NewRegistry()), Store: st, Now: clock})
			if err != nil {
				return rate{}, err
			}
			es = append(es, e)
		}
		ask := func(i int) gate.Request {
			r := request(fmt.Sprintf("queued-%03d", i%queueLength))
			r.Params["cluster"], r.Params["hosts"] = "c1", "10"
			return r
		}
		// Every rollout asks once: the line fills.
		for i := range queueLength {
			if _, err := es[i%len(es)].Decide(ctx, ask(i)); err != nil {
				return rate{}, err
			}
		}
		var n atomic.Int64
		return drive(ctx, name, freshCallers, o.duration, func(int) worker {
			return func() error {
				i := int(n.Add(1))
				_, err := es[i%len(es)].Decide(ctx, ask(i))
				return err
			}
		}), nil
	}
	var rs []rate
	for _, p := range []struct {
		name  string
		text  string
		n     int
		speed time.Duration
	}{
		{fmt.Sprintf("2 replicas on %s, %d rollouts in line, one look (cached asks)", db.name, queueLength), queuePolicy, 2, 0},
		{fmt.Sprintf("2 replicas on %s, %d rollouts in line, a minute every 10 s", db.name, queueLength), queuePolicy, 2, 6},
		{fmt.Sprintf("1 engine on %s, no concurrency limit, a minute every 10 s (baseline)", db.name), policy, 1, 6},
	} {
		r, err := phase(p.name, p.text, p.n, p.speed)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}
