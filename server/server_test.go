package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// Tokens of the test server: one per kind of caller.
const (
	ciToken     = "ci-secret"
	adminToken  = "admin-secret"
	eventsToken = "events-secret"
)

func testTokens() []config.Token {
	return []config.Token{
		{Name: "ci", Scopes: []string{config.ScopeGate}, Value: ciToken},
		{Name: "ops", Scopes: []string{config.ScopeAdmin}, Value: adminToken},
		{Name: "flagger-events", Scopes: []string{config.ScopeEvents}, Value: eventsToken},
	}
}

// gateFunc is a fake Gate.
type gateFunc func(ctx context.Context, req gate.Request) (gate.Decision, error)

func (f gateFunc) Decide(ctx context.Context, req gate.Request) (gate.Decision, error) {
	return f(ctx, req)
}

// knownServiceGate decides go for service "checkout" and 404s any other.
func knownServiceGate(verdict gate.Verdict) gateFunc {
	return func(_ context.Context, req gate.Request) (gate.Decision, error) {
		if req.Service != "checkout" {
			return gate.Decision{}, &gate.NotFoundError{Field: "service", Value: req.Service}
		}
		return decisionFor(req, verdict), nil
	}
}

func decisionFor(req gate.Request, verdict gate.Verdict) gate.Decision {
	d := gate.Decision{
		ID:             "dec-1",
		Decision:       verdict,
		Reason:         "all checks passed",
		Checks:         []gate.CheckResult{{Name: "error_delta", Verdict: gate.Pass, Queries: []string{"up"}}},
		Service:        req.Service,
		PatchID:        req.PatchID,
		Stage:          req.Stage,
		Attempt:        "1",
		EvaluatedAt:    time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		PolicyRevision: "abc123",
		Mode:           gate.ModeEnforce,
	}
	if verdict == gate.Wait {
		d.RetryAfterSeconds = 30
	}
	return d
}

// fakeDecisions is an in-memory audit log.
type fakeDecisions struct {
	mu      sync.Mutex
	byID    map[string]store.Decision
	list    []store.Decision
	filter  store.Filter
	listErr error
	getErr  error
}

func (f *fakeDecisions) GetDecision(_ context.Context, id string) (store.Decision, error) {
	if f.getErr != nil {
		return store.Decision{}, f.getErr
	}
	d, ok := f.byID[id]
	if !ok {
		return store.Decision{}, store.ErrNotFound
	}
	return d, nil
}

func (f *fakeDecisions) ListDecisions(_ context.Context, filter store.Filter) ([]store.Decision, error) {
	f.mu.Lock()
	f.filter = filter
	f.mu.Unlock()
	return f.list, f.listErr
}

// newTestServer builds a server with the test tokens, a fresh registry and
// the given changes to its configuration.
func newTestServer(t testing.TB, g Gate, change ...func(*Config)) (*Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := Config{
		Gate:      g,
		Decisions: &fakeDecisions{},
		Tokens:    testTokens(),
		Registry:  reg,
	}
	for _, f := range change {
		f(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s.handler = validating(t, s.echo)
	return s, reg
}

// do sends one request to h; token "" sends no Authorization header.
func do(t testing.TB, h http.Handler, method, target, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// errorOf checks rec is a JSON error envelope and returns the error.
func errorOf(t testing.TB, rec *httptest.ResponseRecorder) APIError {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON; body %s", ct, rec.Body)
	}
	var env struct {
		Error *APIError `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error == nil {
		t.Fatalf("body is not an error envelope (%v): %s", err, rec.Body)
	}
	if env.Error.Status != rec.Code {
		t.Errorf("envelope status %d, HTTP status %d", env.Error.Status, rec.Code)
	}
	if env.Error.Message == "" {
		t.Errorf("envelope without message: %s", rec.Body)
	}
	return *env.Error
}

func TestNewInvalidConfiguration(t *testing.T) {
	valid := func() Config {
		return Config{
			Gate:      knownServiceGate(gate.Go),
			Decisions: &fakeDecisions{},
			Tokens:    testTokens(),
			Registry:  prometheus.NewRegistry(),
		}
	}
	shared := prometheus.NewRegistry()
	if _, err := New(Config{Gate: knownServiceGate(gate.Go), Decisions: &fakeDecisions{}, Tokens: testTokens(), Registry: shared}); err != nil {
		t.Fatalf("first New on shared registry: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no gate", func(c *Config) { c.Gate = nil }, "gate is required"},
		{"no decisions", func(c *Config) { c.Decisions = nil }, "decisions is required"},
		{"no registry", func(c *Config) { c.Registry = nil }, "registry is required"},
		{"no tokens", func(c *Config) { c.Tokens = nil }, "no tokens"},
		{"token without value", func(c *Config) { c.Tokens = []config.Token{{Name: "x", Scopes: []string{"gate"}}} }, `token "x" has no value`},
		{"token without name", func(c *Config) { c.Tokens = []config.Token{{Value: "v"}} }, "token 0 has no name"},
		{"same value twice", func(c *Config) {
			c.Tokens = []config.Token{{Name: "a", Value: "v"}, {Name: "b", Value: "v"}}
		}, `tokens "a" and "b" have the same value`},
		{"negative body limit", func(c *Config) { c.MaxBodyBytes = -1 }, "max body bytes"},
		{"registry already used", func(c *Config) { c.Registry = shared }, "duplicate metrics collector registration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.change(&cfg)
			_, err := New(cfg)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !strings.HasPrefix(err.Error(), "invalid configuration: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, "invalid configuration: ..."+tt.want)
			}
		})
	}
	t.Run("insecure without tokens", func(t *testing.T) {
		cfg := valid()
		cfg.Tokens, cfg.InsecureNoAuth = nil, true
		if _, err := New(cfg); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	s, _ := newTestServer(t, knownServiceGate(gate.Go))
	tests := []struct {
		method, target string
		status         int
	}{
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodPost, "/v1/gate/extra", http.StatusNotFound},
		{http.MethodGet, "/v1/gate", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/v1/decisions/x", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := do(t, s.Handler(), tt.method, tt.target, ciToken, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			errorOf(t, rec)
		})
	}
}

func TestPanicIsJSON500AndServerKeepsServing(t *testing.T) {
	var logs strings.Builder
	g := gateFunc(func(_ context.Context, req gate.Request) (gate.Decision, error) {
		if req.Service == "boom" {
			panic("gate exploded")
		}
		return decisionFor(req, gate.Go), nil
	})
	s, _ := newTestServer(t, g, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})

	rec := do(t, s.Handler(), http.MethodPost, "/v1/gate", ciToken, `{"service":"boom","patch_id":"p","stage":"canary"}`)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", rec.Code, rec.Body)
	}
	if e := errorOf(t, rec); strings.Contains(e.Message, "exploded") {
		t.Errorf("panic value leaked to the client: %q", e.Message)
	}
	if !strings.Contains(logs.String(), "gate exploded") {
		t.Errorf("panic not logged: %s", logs.String())
	}

	rec = do(t, s.Handler(), http.MethodPost, "/v1/gate", ciToken, `{"service":"checkout","patch_id":"p","stage":"canary"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("after the panic: status %d, want 200: %s", rec.Code, rec.Body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var (
		mu       sync.Mutex
		notReady error
	)
	s, _ := newTestServer(t, knownServiceGate(gate.Go), func(c *Config) {
		c.Ready = func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return notReady
		}
	})
	setReady := func(err error) {
		mu.Lock()
		notReady = err
		mu.Unlock()
	}
	sourceDown := &NotReadyError{Component: "metric_source", Err: errors.New(`Post "http://prometheus.internal:9090/api/v1/query": connection refused`)}
	tests := []struct {
		name     string
		target   string
		token    string
		notReady error
		status   int
		want     healthStatus
	}{
		{"healthz", "/healthz", "", nil, http.StatusOK, healthStatus{Status: "ok"}},
		{"healthz while not ready", "/healthz", "", errors.New("down"), http.StatusOK, healthStatus{Status: "ok"}},
		{"readyz ready", "/readyz", "", nil, http.StatusOK, healthStatus{Status: "ok"}},
		// Anyone who reaches the port (and the kubelet) learns which
		// component, not its address or the error.
		{"readyz source down", "/readyz", "", sourceDown, http.StatusServiceUnavailable,
			healthStatus{Status: "unavailable", Component: "metric_source"}},
		{"readyz source down, bad token", "/readyz", "not-a-token", sourceDown, http.StatusServiceUnavailable,
			healthStatus{Status: "unavailable", Component: "metric_source"}},
		{"readyz source down, gate token", "/readyz", ciToken, sourceDown, http.StatusServiceUnavailable,
			healthStatus{Status: "unavailable", Component: "metric_source", Reason: sourceDown.Error()}},
		{"readyz store full", "/readyz", "", &NotReadyError{Component: "store", Err: errors.New("database or disk is full")},
			http.StatusServiceUnavailable, healthStatus{Status: "unavailable", Component: "store"}},
		{"readyz other error", "/readyz", "", errors.New("secret detail"), http.StatusServiceUnavailable,
			healthStatus{Status: "unavailable", Component: "unknown"}},
		{"readyz back", "/readyz", "", nil, http.StatusOK, healthStatus{Status: "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setReady(tt.notReady)
			rec := do(t, s.Handler(), http.MethodGet, tt.target, tt.token, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			var got healthStatus
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("not JSON: %s", rec.Body)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	s, _ := newTestServer(t, knownServiceGate(gate.Wait))
	h := s.Handler()
	do(t, h, http.MethodPost, "/v1/gate", ciToken, `{"service":"checkout","patch_id":"p","stage":"canary"}`)
	do(t, h, http.MethodPost, "/v1/gate", ciToken, `{"service":"unknown","patch_id":"p","stage":"canary"}`)
	do(t, h, http.MethodGet, "/nope", "", "")

	rec := do(t, h, http.MethodGet, "/metrics", "", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`patchgate_decisions_total{decision="wait",mode="enforce",service="checkout",stage="canary"} 1`,
		`patchgate_decision_duration_seconds_count{decision="wait"} 1`,
		`patchgate_decision_duration_seconds_count{decision="error"} 1`,
		`patchgate_http_requests_total{code="200",handler="/v1/gate"} 1`,
		`patchgate_http_requests_total{code="404",handler="/v1/gate"} 1`,
		`patchgate_http_requests_total{code="404",handler="other"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `service="unknown"`) {
		t.Error("an unknown service became a label value")
	}
}
