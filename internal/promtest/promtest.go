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
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/testenv"
)

const (
	// readyTimeout bounds the wait for /-/ready.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds the wait after SIGTERM before the process is killed.
	stopTimeout = 10 * time.Second
	// backfillTimeout bounds promtool.
	backfillTimeout = 2 * time.Minute
	// startAttempts covers a free port taken by someone else before the
	// server binds it.
	startAttempts = 3
)

// Server is a running Prometheus.
type Server struct {
	// URL is the base URL of the server, such as http://127.0.0.1:41234,
	// ready for an API client (append /api/v1/query and so on).
	URL string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	logs *syncBuffer
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

	var lastErr error
	for range startAttempts {
		s, err := start(t, prometheus, config, data)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("promtest: %v", lastErr)
	return nil
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

// start runs one Prometheus and waits for it. When it fails, the process
// is gone again.
func start(t testing.TB, prometheus, config, data string) (*Server, error) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	logs := &syncBuffer{}
	cmd := exec.Command(prometheus,
		"--config.file="+config,
		"--storage.tsdb.path="+data,
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address="+addr,
	)
	cmd.Stdout = logs
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", prometheus, err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n--- prometheus log ---\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("promtest: %v", err)
		}
		if t.Failed() {
			t.Logf("--- prometheus log (%s) ---\n%s", s.URL, logs.String())
		}
	})
	return s, nil
}

func (s *Server) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("prometheus exited before it was ready (%s)", s.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus at %s not ready after %s", s.URL, readyTimeout)
		}
	}
}

// stop sends SIGTERM to the process and waits for it, killing it if it
// does not exit in time.
func (s *Server) stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop prometheus (pid %d): %w", s.cmd.Process.Pid, err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	return fmt.Errorf("prometheus (pid %d) ignored SIGTERM for %s and was killed", s.cmd.Process.Pid, stopTimeout)
}

// syncBuffer is a bytes.Buffer safe for the process' writes and our reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
