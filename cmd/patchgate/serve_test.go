package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that sends half a body and stalls is cut: the handler's read
// fails and the connection closes, instead of staying open for as long as
// the client likes. The timeouts are short here so the test ends soon; the
// deadline on the client's side only bounds a broken server.
func TestServeCutsSlowBody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- serveHTTP(ctx, ln, h, io.Discard, httpTimeouts{header: time.Second, read: 200 * time.Millisecond, write: time.Second, idle: time.Second}, nil)
	}()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "POST /v1/gate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"service\":"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readErr:
		if !isTimeout(err) {
			t.Fatalf("the handler read the stalled body with error %v, want a timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the handler is still reading the stalled body: no read timeout")
	}
	// The server closes the connection (after at most an error answer).
	rest, err := io.ReadAll(bufio.NewReader(conn))
	if err != nil {
		t.Fatalf("the connection stayed open: %v (read %q)", err, rest)
	}
	if len(rest) > 0 && !strings.HasPrefix(string(rest), "HTTP/1.1 ") {
		t.Errorf("unexpected bytes: %q", rest)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestServeTimeoutsLeaveRoomForQueries(t *testing.T) {
	for _, source := range []time.Duration{0, 10 * time.Second, 2 * time.Minute} {
		got := serveTimeouts(source)
		if got.header <= 0 || got.read <= 0 || got.idle <= 0 || got.write < 4*source || got.write < 2*time.Minute {
			t.Errorf("source timeout %s: %+v", source, got)
		}
	}
}
