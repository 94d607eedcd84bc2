package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
)

// benchGate is a gate over a small service with one stage attempt asked
// once, so that every further ask is answered from its current look.
func benchGate(b *testing.B) (*gateEnv, []byte) {
	ctx := context.Background()
	src, err := newSource(ctx, b.TempDir(), 50)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	g, err := newGate(ctx, b.TempDir(), src)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Close() })
	d, err := g.engine.Decide(ctx, request("bench"))
	if err != nil {
		b.Fatal(err)
	}
	answer, err := json.Marshal(d)
	if err != nil {
		b.Fatal(err)
	}
	return g, answer
}

// BenchmarkAskCached is an ask answered from the current minute's look:
// by the engine, by the HTTP handler without a network, and over loopback
// HTTP; loopback-ceiling serves the same answer's bytes without the gate,
// the most net/http and this client can do here; encode-answer is the JSON
// encoding of the answer alone.
func BenchmarkAskCached(b *testing.B) {
	g, answer := benchGate(b)
	ctx := context.Background()
	body := requestBody("bench")
	b.Run("engine", func(b *testing.B) {
		req := request("bench")
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := g.engine.Decide(ctx, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// encode-answer is what each ask cost before answers were cached by
	// decision id (server/answers.go): encoding the decision as JSON.
	d, err := g.engine.Decide(ctx, request("bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode-answer", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := json.Marshal(d); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	h := g.server.Handler()
	b.Run("handler", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest(http.MethodPost, "/v1/gate", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Errorf("status %d: %s", rec.Code, rec.Body)
					return
				}
			}
		})
	})
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})
	for _, target := range []struct {
		name string
		h    http.Handler
	}{{"loopback", h}, {"loopback-ceiling", static}} {
		b.Run(target.name, func(b *testing.B) {
			url, stop, err := serve(target.h)
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			client := newClient(64)
			defer client.CloseIdleConnections()
			b.SetParallelism(32) // 64 callers on 2 cores, as the load phase
			b.RunParallel(func(pb *testing.PB) {
				w := httpWorker(client, url+"/v1/gate", body, "")
				for pb.Next() {
					if err := w(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkFreshAsk is an ask of a new stage attempt (every check
// queries; the attempt and the answer are written durably), 64 callers at
// once as the fresh phase of the run, on SQLite and, with
// PATCHGATE_TEST_POSTGRES_DSN, on PostgreSQL.
func BenchmarkFreshAsk(b *testing.B) {
	ctx := context.Background()
	src, err := newSource(ctx, b.TempDir(), 20)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	dbs := []database{sqliteDatabase(b.TempDir())}
	if dsn := os.Getenv("PATCHGATE_TEST_POSTGRES_DSN"); dsn != "" {
		pg, err := postgresDatabase(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pg.drop)
		dbs = append(dbs, pg)
	}
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			e, closeStore, err := freshEngine(ctx, db, src)
			if err != nil {
				b.Fatal(err)
			}
			defer closeStore()
			var n atomic.Int64
			b.SetParallelism(freshCallers / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Decide(ctx, request(fmt.Sprintf("fresh-%d", n.Add(1)))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
