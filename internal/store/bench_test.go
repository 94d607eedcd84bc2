package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/testenv"
)

// BenchmarkAppend measures durable decision appends from many concurrent
// callers (64 goroutines: asks of new looks arriving together), against
// baselines measured in the same run on the same database:
//   - grouped: AppendDecision (group commit: one transaction and one sync
//     for the appends queued together);
//   - one-by-one: the same appends, one transaction (one sync) each under
//     the writer lock, as before group commit;
//   - raw-insert: the same rows INSERTed into a bare table, one synced
//     autocommit statement each, without chain, lock or reads: what the
//     database gives for one synced row per commit.
//
// decisions/s is the figure; writes/commit is the mean group size.
func BenchmarkAppend(b *testing.B) {
	for _, be := range []struct {
		name string
		nb   func(b *testing.B) backend
	}{
		{"sqlite", func(b *testing.B) backend {
			return backend{driver: "sqlite", dsn: b.TempDir() + "/bench.db"}
		}},
		{"postgres", func(b *testing.B) backend {
			return backend{driver: "postgres", dsn: testenv.Postgres(b)}
		}},
	} {
		b.Run(be.name, func(b *testing.B) {
			bk := be.nb(b)
			s, err := Open(b.Context(), bk.driver, bk.dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ss := s.(*sqlStore)
			if _, err := ss.db.Exec("CREATE TABLE IF NOT EXISTS raw_decisions (id TEXT PRIMARY KEY, service TEXT, patch_id TEXT, stage TEXT, attempt TEXT, verdict TEXT, evaluated_at TEXT, body " +
				map[string]string{"sqlite": "BLOB", "postgres": "BYTEA"}[bk.driver] + ")"); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			next := func(prefix string) Decision {
				i := int(n.Add(1))
				d := decision(i, "checkout", fmt.Sprintf("p-%d", i), "canary", "go")
				d.ID = fmt.Sprintf("%s-%d", prefix, i)
				d.Body = make([]byte, 4500) // an answer's size
				return d
			}
			run := func(b *testing.B, f func(ctx context.Context, d Decision) error, prefix string) {
				b.SetParallelism(32)
				g0, o0 := ss.writes.stats()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := f(b.Context(), next(prefix)); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
				if g, o := ss.writes.stats(); g > g0 {
					b.ReportMetric(float64(o-o0)/float64(g-g0), "writes/commit")
				}
			}
			b.Run("grouped", func(b *testing.B) {
				run(b, func(ctx context.Context, d Decision) error {
					_, err := s.AppendDecision(ctx, d)
					return err
				}, "g")
			})
			b.Run("one-by-one", func(b *testing.B) {
				run(b, func(ctx context.Context, d Decision) error {
					ss.writes.slot <- struct{}{}
					defer func() { <-ss.writes.slot }()
					return ss.commitWrites(ctx, []*writeOp{{f: func(ctx context.Context, tx *sql.Tx) error {
						_, err := appendDecisionIn(ctx, ss, tx, d)
						return err
					}}})
				}, "o")
			})
			b.Run("raw-insert", func(b *testing.B) {
				q := ss.dialect.rebind("INSERT INTO raw_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
				run(b, func(ctx context.Context, d Decision) error {
					_, err := ss.db.ExecContext(ctx, q, d.ID, d.Service, d.PatchID, d.Stage, d.Attempt, d.Verdict, formatTime(d.EvaluatedAt), d.Body)
					return err
				}, "r")
			})
		})
	}
}
