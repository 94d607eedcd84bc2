// Package promtest starts a real Prometheus server holding recorded data, for
// integration tests. The data is backfilled with promtool, so no scraping and
// no waiting for samples is needed: query at the times the data covers.
//
// It needs the prometheus and promtool binaries (Debian package
// "prometheus"); without them a test is skipped loudly, or fails under CI.
package promtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/testenv"
)

// backfillTimeout bounds promtool.
const backfillTimeout = 2 * time.Minute

// Server is a running Prometheus.
type Server struct {
	// URL is the base URL of the server, such as http://127.0.0.1:41234,
	// ready for an API client (append /api/v1/query and so on).
	URL string
}

// Start backfills series into a new TSDB, starts Prometheus on it on a free
// loopback port and waits until it is ready. The server is stopped when the
// test ends; its log is printed if the test failed.
//
// The data may lie anywhere in time (retention is 100 years, counted from the
// newest sample, not from now). Queries see the usual 5-minute lookback.
func Start(t testing.TB, series []Series) *Server {
	t.Helper()
	prometheus := testenv.Binary(t, "prometheus", "prometheus")
	promtool := testenv.Binary(t, "promtool", "prometheus")

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	backfill(t, promtool, dir, data, series)

	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, nil, 0o644); err != nil { // empty: no scraping, no rules
		t.Fatal(err)
	}

	p := testenv.StartServer(t, "prometheus", prometheus, "/-/ready", func(addr string) []string {
		return []string{"--config.file=" + config, "--storage.tsdb.path=" + data,
			"--storage.tsdb.retention.time=100y", "--web.listen-address=" + addr}
	})
	return &Server{URL: p.URL}
}

// backfill writes series as OpenMetrics and turns them into TSDB blocks.
func backfill(t testing.TB, promtool, dir, data string, series []Series) {
	t.Helper()
	n := 0
	for _, s := range series {
		n += len(s.Samples)
	}
	if n == 0 {
		return // promtool has nothing to write
	}
	var om bytes.Buffer
	if err := WriteOpenMetrics(&om, series); err != nil {
		t.Fatalf("promtest: %v", err)
	}
	file := filepath.Join(dir, "data.om")
	if err := os.WriteFile(file, om.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), backfillTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, data).CombinedOutput()
	if err != nil {
		t.Fatalf("promtest: promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
}
