// Package vmtest starts a real single-node VictoriaMetrics holding recorded
// data, for integration tests: the second query engine beside Prometheus
// (internal/promtest), given the same promtest.Series. The data is imported
// through /api/v1/import/prometheus and flushed, so it is queryable at once.
//
// It needs the victoria-metrics binary (Debian package "victoria-metrics");
// without it a test is skipped loudly, or fails under CI.
package vmtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/testenv"
)

const (
	readyTimeout  = 30 * time.Second
	stopTimeout   = 10 * time.Second
	startAttempts = 3
)

// Server is a running VictoriaMetrics.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234; its Prometheus
	// API is under /api/v1 as Prometheus' is.
	URL string

	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

// Start starts VictoriaMetrics on a free loopback port with a fresh data
// folder, imports series and waits until they are searchable. It is stopped
// when the test ends; its log is printed if the test failed. Its response
// cache is on, as in production.
func Start(t testing.TB, series []promtest.Series) *Server {
	t.Helper()
	bin := testenv.Binary(t, "victoria-metrics", "victoria-metrics")
	var lastErr error
	for range startAttempts {
		s, err := start(t, bin, t.TempDir())
		if err == nil {
			if err := s.Import(series); err != nil {
				t.Fatalf("vmtest: %v", err)
			}
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("vmtest: %v", lastErr)
	return nil
}

func start(t testing.TB, bin, data string) (*Server, error) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	logs := &syncBuffer{}
	cmd := exec.Command(bin,
		"-storageDataPath="+data,
		"-retentionPeriod=100y",
		"-httpListenAddr="+addr,
		"-loggerLevel=WARN",
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n--- victoria-metrics log ---\n%s", err, logs.String())
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("vmtest: %v", err)
		}
		if t.Failed() {
			t.Logf("--- victoria-metrics log (%s) ---\n%s", s.URL, logs.String())
		}
	})
	return s, nil
}

// Import writes series through /api/v1/import/prometheus (the text
// exposition format, timestamps in milliseconds) and flushes them, so
// queries see them at once.
func (s *Server) Import(series []promtest.Series) error {
	var b bytes.Buffer
	for _, sr := range series {
		keys := make([]string, 0, len(sr.Labels))
		for k, v := range sr.Labels {
			if v != "" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var ls strings.Builder
		for i, k := range keys {
			if i > 0 {
				ls.WriteByte(',')
			}
			fmt.Fprintf(&ls, "%s=%s", k, strconv.Quote(sr.Labels[k]))
		}
		for _, p := range sr.Samples {
			fmt.Fprintf(&b, "%s{%s} %s %d\n", sr.Name, ls.String(), strconv.FormatFloat(p.V, 'g', -1, 64), p.T.UnixMilli())
		}
	}
	if err := s.post("/api/v1/import/prometheus", &b); err != nil {
		return err
	}
	if err := s.post("/internal/force_flush", nil); err != nil {
		return err
	}
	// Imported data reaches search after the flush; the response cache
	// is reset too, so no earlier answer hides it.
	return s.post("/internal/resetRollupResultCache", nil)
}

func (s *Server) post(path string, body io.Reader) error {
	method := http.MethodPost
	if body == nil {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, msg)
	}
	return nil
}

func (s *Server) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := client.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("victoria-metrics exited before it was ready (%s)", s.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("victoria-metrics at %s not ready after %s", s.URL, readyTimeout)
		}
	}
}

func (s *Server) stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop victoria-metrics (pid %d): %w", s.cmd.Process.Pid, err)
	}
	select {
	case <-s.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	return fmt.Errorf("victoria-metrics (pid %d) ignored SIGTERM for %s and was killed", s.cmd.Process.Pid, stopTimeout)
}

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
