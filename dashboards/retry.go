package dashboards

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the retries of a Grafana request answered 429 (too
// many requests) or 5xx, or not answered at all. The wait doubles from
// Backoff up to MaxBackoff; a Retry-After header replaces it, capped at
// MaxBackoff. Retries stop when the request's context ends.
type RetryPolicy struct {
	// Attempts is the most tries of one request (default 4; 1: no retry).
	Attempts   int
	Backoff    time.Duration // default 500ms
	MaxBackoff time.Duration // default 8s
}

func (p *RetryPolicy) defaults() {
	if p.Attempts <= 0 {
		p.Attempts = 4
	}
	if p.Backoff <= 0 {
		p.Backoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 8 * time.Second
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = p.Backoff
	}
}

// wait is the pause before attempt n+1 (n ≥ 1).
func (p RetryPolicy) wait(n int, resp *http.Response) time.Duration {
	if resp != nil {
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, p.MaxBackoff)
		}
	}
	d := p.Backoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// StatusError is a request Grafana kept answering 429 or 5xx, or never
// answered, until the retries ran out.
type StatusError struct {
	Method, Path string
	// Status is the last answer's status code; 0 when there was none.
	Status   int
	Attempts int
	// Message is the last answer's message, or the transport's error.
	Message string
	Err     error
}

func (e *StatusError) Error() string {
	what := "no answer"
	if e.Status != 0 {
		what = fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	msg := ""
	if e.Message != "" {
		msg = ": " + e.Message
	}
	return fmt.Sprintf("%s %s: %s after %d attempt(s)%s", e.Method, e.Path, what, e.Attempts, msg)
}

func (e *StatusError) Unwrap() error { return e.Err }

// retryTransport retries requests answered 429 or 5xx, or not answered.
type retryTransport struct {
	next          http.RoundTripper
	policy        RetryPolicy
	attemptFailed func()
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for n := 1; ; n++ {
		r := req
		if n > 1 {
			r = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.next.RoundTrip(r)
		if err == nil && !retryable(resp.StatusCode) {
			return resp, nil
		}
		if t.attemptFailed != nil {
			t.attemptFailed()
		}
		canRetry := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if n >= t.policy.Attempts || !canRetry || ctx.Err() != nil {
			if err == nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, lastError(req, n, resp, err)
		}
		wait := t.policy.wait(n, resp)
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, &StatusError{Method: req.Method, Path: req.URL.Path, Attempts: n, Message: err.Error(), Err: err}
		}
	}
}

// lastError reports the last failed attempt, reading the answer's message.
func lastError(req *http.Request, n int, resp *http.Response, err error) error {
	e := &StatusError{Method: req.Method, Path: req.URL.Path, Attempts: n, Err: err}
	if resp == nil {
		e.Message = err.Error()
		return e
	}
	defer resp.Body.Close()
	e.Status = resp.StatusCode
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
	e.Message = bodyMessage(b)
	return e
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
