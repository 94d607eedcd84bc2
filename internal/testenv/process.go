package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts of StartServer.
const (
	readyTimeout  = 30 * time.Second
	stopTimeout   = 10 * time.Second
	startAttempts = 3 // a free port may be taken before the server binds it
)

// Process is a server started for a test: the process, its log, and the
// URL it serves on. It is stopped (SIGTERM, then kill) when the test ends,
// and its log printed if the test failed.
type Process struct {
	// URL is the base URL, such as http://127.0.0.1:41234.
	URL  string
	name string
	cmd  *exec.Cmd
	done chan struct{}
	logs *syncBuffer
}

// StartServer runs bin on a free loopback port and waits until readyPath
// answers 200. args builds the command line for the listen address
// (host:port). A start that fails because the port was taken meanwhile is
// tried again; any other failure fails the test.
func StartServer(t testing.TB, name, bin, readyPath string, args func(addr string) []string) *Process {
	t.Helper()
	var lastErr error
	for range startAttempts {
		p, err := startServer(t, name, bin, readyPath, args)
		if err == nil {
			return p
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("%s: %v", name, lastErr)
	return nil
}

func startServer(t testing.TB, name, bin, readyPath string, args func(addr string) []string) (*Process, error) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(t))
	logs := &syncBuffer{}
	cmd := exec.Command(bin, args(addr)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{URL: "http://" + addr, name: name, cmd: cmd, done: make(chan struct{}), logs: logs}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(readyPath); err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("%w\n--- %s log ---\n%s", err, name, logs.String())
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("--- %s log (%s) ---\n%s", name, p.URL, logs.String())
		}
	})
	return p, nil
}

func (p *Process) waitReady(path string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := client.Get(p.URL + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%s)", p.name, p.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s at %s not ready after %s", p.name, p.URL, readyTimeout)
		}
	}
}

// Stop sends SIGTERM to the process and waits for it, killing it if it
// does not exit in time.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s (pid %d): %w", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s (pid %d) ignored SIGTERM for %s and was killed", p.name, p.cmd.Process.Pid, stopTimeout)
}

// Log is what the process wrote so far.
func (p *Process) Log() string { return p.logs.String() }

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
