package server

import (
	"bytes"
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

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// flaggerBody is a webhook body exactly as Flagger v1.36 sends it
// (CallWebhook: name, namespace, phase, checksum, and the webhook's
// metadata from the Canary spec), with no headers but Content-Type.
const flaggerBody = `{"name":"checkout","namespace":"shop","phase":"Progressing","checksum":"7f8d9c6b5a",` +
	`"metadata":{"service":"checkout","patch_id":"openssl-3.0.15","stage":"canary"}}`

// recordingGate answers with a fixed verdict and keeps the requests.
type recordingGate struct {
	mu       sync.Mutex
	verdict  gate.Verdict
	requests []gate.Request
}

func (g *recordingGate) Decide(_ context.Context, req gate.Request) (gate.Decision, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests = append(g.requests, req)
	d := decisionFor(req, g.verdict)
	d.Reason = "reason for " + string(g.verdict)
	return d, nil
}

func (g *recordingGate) last(t *testing.T) gate.Request {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.requests) == 0 {
		t.Fatal("the gate was not asked")
	}
	return g.requests[len(g.requests)-1]
}

// flaggerPost sends what Flagger sends: a POST with only Content-Type set.
func flaggerPost(t testing.TB, h http.Handler, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// flaggerApproves is Flagger's reading of an answer (callWebhook): only a
// status up to 202 is a yes.
func flaggerApproves(status int) bool { return status >= 200 && status <= 202 }

// flaggerRetries is whether Flagger retries a status (retryablehttp's
// default policy: 429 and 5xx except 501).
func flaggerRetries(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented
}

func TestFlaggerHooks(t *testing.T) {
	gateHooks := []string{"confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion", "post-rollout"}
	type row struct {
		hook    string
		verdict gate.Verdict
		approve bool
	}
	var rows []row
	for _, h := range gateHooks {
		rows = append(rows, row{h, gate.Go, true}, row{h, gate.NoGo, false}, row{h, gate.Wait, false})
	}
	// The rollback hook rolls back on a 2xx: only a no_go may say yes.
	rows = append(rows, row{"rollback", gate.Go, false}, row{"rollback", gate.NoGo, true}, row{"rollback", gate.Wait, false})

	for _, tt := range rows {
		t.Run(tt.hook+"/"+string(tt.verdict), func(t *testing.T) {
			g := &recordingGate{verdict: tt.verdict}
			s, _ := newTestServer(t, g)
			rec := flaggerPost(t, s.Handler(), "/v1/integrations/flagger/"+tt.hook+"/t/"+ciToken, flaggerBody)
			if got := flaggerApproves(rec.Code); got != tt.approve {
				t.Fatalf("status %d (Flagger approves: %v), want approve %v; body %s", rec.Code, got, tt.approve, rec.Body)
			}
			if flaggerRetries(rec.Code) {
				t.Fatalf("status %d is one Flagger retries", rec.Code)
			}
			if tt.approve {
				if rec.Code != http.StatusOK {
					t.Errorf("status %d, want 200", rec.Code)
				}
				var d gate.Decision
				if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || d.Decision != tt.verdict {
					t.Errorf("body %s: want the decision as JSON (%v)", rec.Body, err)
				}
			} else {
				if rec.Code != http.StatusPreconditionFailed {
					t.Errorf("status %d, want 412", rec.Code)
				}
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type %q, want text/plain", ct)
				}
				body := rec.Body.String()
				for _, want := range []string{"patchgate " + string(tt.verdict), "reason for " + string(tt.verdict), "decision dec-1"} {
					if !strings.Contains(body, want) {
						t.Errorf("412 body %q lacks %q", body, want)
					}
				}
			}
			req := g.last(t)
			want := gate.Request{Service: "checkout", PatchID: "openssl-3.0.15", Stage: "canary",
				Params: map[string]string{gate.ParamAttempt: "7f8d9c6b5a"}}
			if req.Service != want.Service || req.PatchID != want.PatchID || req.Stage != want.Stage ||
				len(req.Params) != 1 || req.Params[gate.ParamAttempt] != "7f8d9c6b5a" {
				t.Errorf("gate asked %+v, want %+v", req, want)
			}
		})
	}
}

func TestFlaggerAuth(t *testing.T) {
	const gateOnly, eventsOnly = ciToken, eventsToken
	tests := []struct {
		name   string
		target string
		header string
		status int
	}{
		{"token in the path", "/v1/integrations/flagger/confirm-rollout/t/" + gateOnly, "", http.StatusOK},
		{"token in the query", "/v1/integrations/flagger/confirm-rollout?token=" + gateOnly, "", http.StatusOK},
		{"bearer header", "/v1/integrations/flagger/confirm-rollout", "Bearer " + gateOnly, http.StatusOK},
		{"admin token", "/v1/integrations/flagger/confirm-rollout/t/" + adminToken, "", http.StatusOK},
		{"no token", "/v1/integrations/flagger/confirm-rollout", "", http.StatusUnauthorized},
		{"empty query token", "/v1/integrations/flagger/confirm-rollout?token=", "", http.StatusUnauthorized},
		{"wrong token", "/v1/integrations/flagger/confirm-rollout/t/not-a-token-of-ours", "", http.StatusUnauthorized},
		{"path wins over query", "/v1/integrations/flagger/confirm-rollout/t/wrong-wrong-wrong?token=" + gateOnly, "", http.StatusUnauthorized},
		{"events token cannot ask the gate", "/v1/integrations/flagger/confirm-rollout/t/" + eventsOnly, "", http.StatusForbidden},
		{"gate token cannot post events", "/v1/integrations/flagger/event/t/" + gateOnly, "", http.StatusForbidden},
		{"events token posts events", "/v1/integrations/flagger/event/t/" + eventsOnly, "", http.StatusAccepted},
	}
	s, _ := newTestServer(t, knownServiceGate(gate.Go))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(flaggerBody))
			req.Header.Set("Content-Type", "application/json")
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if rec.Code >= 400 {
				errorOf(t, rec)
			}
		})
	}
}

// TestFlaggerTokenNeverLogged sends URL tokens into every kind of answer
// and looks for them in the log (at debug level) and on /metrics.
func TestFlaggerTokenNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	failing := gateFunc(func(_ context.Context, req gate.Request) (gate.Decision, error) {
		switch req.Service {
		case "boom":
			return gate.Decision{}, errors.New("metric source down at http://prometheus:9090")
		case "panic":
			panic("gate exploded")
		}
		return decisionFor(req, gate.Go), nil
	})
	s, _ := newTestServer(t, failing, func(c *Config) { c.Logger = logger })
	body := func(service string) string {
		return strings.Replace(flaggerBody, `"service":"checkout"`, `"service":"`+service+`"`, 1)
	}
	for _, token := range []string{ciToken, eventsToken, "a-wrong-token-0123"} {
		for _, target := range []string{
			"/v1/integrations/flagger/confirm-rollout/t/" + token,
			"/v1/integrations/flagger/confirm-rollout?token=" + token,
			"/v1/integrations/flagger/no-such-hook/t/" + token,
			"/v1/integrations/flagger/event/t/" + token,
		} {
			for _, b := range []string{body("checkout"), body("boom"), body("panic"), `{"name":`} {
				flaggerPost(t, s.Handler(), target, b)
			}
		}
	}
	metrics := do(t, s.Handler(), http.MethodGet, "/metrics", "", "").Body.String()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "request failed") || !strings.Contains(logs.String(), "panic in handler") {
		t.Fatalf("expected error and panic lines in the log, got:\n%s", logs.String())
	}
	if !strings.Contains(metrics, `handler="/v1/integrations/flagger/:hook/t/:token"`) {
		t.Fatalf("no request counted for the token route on /metrics")
	}
	for _, token := range []string{ciToken, eventsToken, "a-wrong-token-0123"} {
		if strings.Contains(logs.String(), token) {
			t.Errorf("token %q appears in the log:\n%s", token, logs.String())
		}
		if strings.Contains(metrics, token) {
			t.Errorf("token %q appears on /metrics", token)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

const flaggerPolicy = `source: {type: embedded}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99.9}
    checks: {error_delta: {}}
    stages: [{name: canary}, {name: 100pct}]
integrations:
  flagger:
    targets:
      - {namespace: shop, name: checkout, service: checkout, stage: canary, stage_by_hook: {confirm-promotion: 100pct}}
`

func withPolicy(t testing.TB, src string) func(*Config) {
	t.Helper()
	p, err := config.Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.Policy = p }
}

func TestFlaggerRequestMapping(t *testing.T) {
	payload := func(namespace, name, metadata string) string {
		return `{"name":"` + name + `","namespace":"` + namespace + `","phase":"Progressing","checksum":"abc123","metadata":` + metadata + `}`
	}
	tests := []struct {
		name    string
		hook    string
		body    string
		want    gate.Request // when the gate is asked
		status  int          // else the refusal
		field   string
		message string
	}{
		{
			name: "from the config mapping, patch named after the checksum",
			hook: "confirm-traffic-increase", body: payload("shop", "checkout", `null`),
			want: gate.Request{Service: "checkout", PatchID: "flagger-abc123", Stage: "canary", Params: map[string]string{"attempt": "abc123"}},
		},
		{
			name: "stage by hook",
			hook: "confirm-promotion", body: payload("shop", "checkout", `{"patch_id":"openssl-3.0.15"}`),
			want: gate.Request{Service: "checkout", PatchID: "openssl-3.0.15", Stage: "100pct", Params: map[string]string{"attempt": "abc123"}},
		},
		{
			name: "metadata agreeing with the mapping, other keys as parameters",
			hook: "rollout", body: payload("shop", "checkout", `{"service":"checkout","stage":"canary","patch_id":"p-1","region":"eu-west-1"}`),
			want: gate.Request{Service: "checkout", PatchID: "p-1", Stage: "canary", Params: map[string]string{"attempt": "abc123", "region": "eu-west-1"}},
		},
		{
			name: "unmapped Canary named by its metadata",
			hook: "rollout", body: payload("other", "cart", `{"service":"cart","stage":"canary","patch_id":"p-1","attempt":"3"}`),
			want: gate.Request{Service: "cart", PatchID: "p-1", Stage: "canary", Params: map[string]string{"attempt": "3"}},
		},
		{
			name: "metadata contradicting the mapping",
			hook: "rollout", body: payload("shop", "checkout", `{"service":"payments"}`),
			status: http.StatusUnprocessableEntity, field: "metadata.service",
			message: `is "payments" but integrations.flagger.targets[0].service maps Canary shop/checkout to "checkout"`,
		},
		{
			name: "stage contradicting stage_by_hook",
			hook: "confirm-promotion", body: payload("shop", "checkout", `{"stage":"canary"}`),
			status: http.StatusUnprocessableEntity, field: "metadata.stage",
			message: `integrations.flagger.targets[0].stage_by_hook.confirm-promotion maps Canary shop/checkout to "100pct"`,
		},
		{
			name: "nothing names the service",
			hook: "rollout", body: payload("other", "cart", `{"stage":"canary"}`),
			status: http.StatusUnprocessableEntity, field: "metadata.service",
			message: "set it in the webhook's metadata or map Canary other/cart in integrations.flagger.targets",
		},
		{
			name: "bad metadata key",
			hook: "rollout", body: payload("shop", "checkout", `{"canary-weight":"10"}`),
			status: http.StatusUnprocessableEntity, field: "metadata", message: `key "canary-weight" must match`,
		},
		{
			name: "no checksum and no patch_id",
			hook: "rollout", body: `{"name":"checkout","namespace":"shop","phase":"Progressing"}`,
			status: http.StatusUnprocessableEntity, field: "metadata.patch_id", message: "is required when the payload has no checksum",
		},
		{
			name: "missing name", hook: "rollout", body: `{"namespace":"shop"}`,
			status: http.StatusUnprocessableEntity, field: "name", message: "is required",
		},
		{
			name: "malformed JSON", hook: "rollout", body: `{"name":"checkout",`,
			status: http.StatusBadRequest, message: "malformed JSON",
		},
		{
			name: "metadata value not a string", hook: "rollout", body: payload("shop", "checkout", `{"stage":1}`),
			status: http.StatusBadRequest, field: "metadata", message: "wrong type",
		},
		{
			name: "unknown hook", hook: "confirm-rollback", body: flaggerBody,
			status: http.StatusNotFound, field: "hook", message: `unknown Flagger webhook type "confirm-rollback"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &recordingGate{verdict: gate.Go}
			s, _ := newTestServer(t, g, withPolicy(t, flaggerPolicy))
			rec := flaggerPost(t, s.Handler(), "/v1/integrations/flagger/"+tt.hook+"?token="+ciToken, tt.body)
			if tt.status != 0 {
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
				}
				e := errorOf(t, rec)
				if e.Field != tt.field || !strings.Contains(e.Message, tt.message) {
					t.Fatalf("error %+v, want field %q and %q", e, tt.field, tt.message)
				}
				if len(g.requests) != 0 {
					t.Fatalf("the gate was asked %+v", g.requests)
				}
				return
			}
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := g.last(t)
			if got.Service != tt.want.Service || got.PatchID != tt.want.PatchID || got.Stage != tt.want.Stage || !sameParams(got.Params, tt.want.Params) {
				t.Fatalf("gate asked %+v, want %+v", got, tt.want)
			}
		})
	}
}

func sameParams(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// eventRecorder is the part of the Operator the Flagger event hook uses.
type eventRecorder struct {
	Operator // other methods are not called here
	mu       sync.Mutex
	events   map[string]store.Event
}

func (r *eventRecorder) AppendEvent(_ context.Context, e store.Event) (store.Event, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := e.PatchID + "\x00" + e.IdempotencyKey
	if old, ok := r.events[key]; ok {
		return old, false, nil
	}
	e.ID = "ev-" + e.Type
	r.events[key] = e
	return e, true, nil
}

func TestFlaggerEvents(t *testing.T) {
	// An event webhook body as Flagger's CallEventWebhook sends it: its
	// own metadata keys plus the webhook's.
	event := func(phase, message string) string {
		return `{"name":"checkout","namespace":"shop","phase":"` + phase + `","checksum":"7f8d9c6b5a",` +
			`"metadata":{"eventMessage":"` + message + `","eventType":"Normal","timestamp":"1795690800000",` +
			`"patch_id":"openssl-3.0.15","cluster":"eu-1"}}`
	}
	rec := &eventRecorder{events: map[string]store.Event{}}
	s, _ := newTestServer(t, knownServiceGate(gate.Go), withPolicy(t, flaggerPolicy), func(c *Config) {
		c.Operator = rec
		c.Now = func() time.Time { return time.UnixMilli(1795690800000).Add(time.Minute) }
	})
	post := func(body string) (int, flaggerEventAnswer) {
		r := flaggerPost(t, s.Handler(), "/v1/integrations/flagger/event/t/"+eventsToken, body)
		var a flaggerEventAnswer
		if err := json.Unmarshal(r.Body.Bytes(), &a); err != nil {
			t.Fatalf("status %d, body %s: %v", r.Code, r.Body, err)
		}
		return r.Code, a
	}

	code, a := post(event("Progressing", "Starting canary analysis for checkout.shop"))
	if code != http.StatusAccepted || !a.Recorded || !a.Created || a.Type != store.EventStageStarted || a.PatchID != "openssl-3.0.15" {
		t.Fatalf("first Progressing event: %d %+v", code, a)
	}
	// Flagger sends one event per message; the phase is recorded once per revision.
	code, a = post(event("Progressing", "Advance checkout.shop canary weight 10"))
	if code != http.StatusAccepted || !a.Recorded || a.Created {
		t.Fatalf("second Progressing event: %d %+v, want recorded before", code, a)
	}
	code, a = post(event("Initialized", "Initialization done! checkout.shop"))
	if code != http.StatusAccepted || a.Recorded || !strings.Contains(a.Reason, `phase "Initialized" is not a patch lifecycle event`) {
		t.Fatalf("Initialized event: %d %+v", code, a)
	}
	for phase, typ := range map[string]string{"Promoting": store.EventPromoted, "Succeeded": store.EventDeployed, "Failed": store.EventRolledBack} {
		if code, a := post(event(phase, "x")); code != http.StatusAccepted || a.Type != typ || !a.Created {
			t.Errorf("%s event: %d %+v, want %s", phase, code, a, typ)
		}
	}
	// The event goes through the checks of POST /v1/patches/{id}/events,
	// and a refusal names the payload key.
	bad := strings.Replace(event("Failed", "x"), `"cluster":"eu-1"`, `"cluster":"eu-1","severity":"urgent"`, 1)
	r := flaggerPost(t, s.Handler(), "/v1/integrations/flagger/event/t/"+eventsToken, bad)
	if e := errorOf(t, r); r.Code != http.StatusUnprocessableEntity || e.Field != "metadata.severity" {
		t.Errorf("bad severity: %d %+v, want 422 on metadata.severity", r.Code, e)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.events) != 4 {
		t.Fatalf("%d events recorded, want 4", len(rec.events))
	}
	var started store.Event
	for _, e := range rec.events {
		if e.Type == store.EventStageStarted {
			started = e
		}
	}
	want := store.Event{
		PatchID: "openssl-3.0.15", Type: store.EventStageStarted, Service: "checkout", Cluster: "eu-1",
		Stage: "canary", Attempt: "7f8d9c6b5a", Detail: "Starting canary analysis for checkout.shop",
		Actor: "flagger-events", Time: time.UnixMilli(1795690800000),
	}
	if started.PatchID != want.PatchID || started.Service != want.Service || started.Cluster != want.Cluster ||
		started.Stage != want.Stage || started.Attempt != want.Attempt || started.Detail != want.Detail ||
		started.Actor != want.Actor || !started.Time.Equal(want.Time) || started.Labels["flagger_canary"] != "shop/checkout" {
		t.Errorf("stage_started event %+v, want %+v", started, want)
	}
}

func TestFlaggerEventsWithoutStore(t *testing.T) {
	s, _ := newTestServer(t, knownServiceGate(gate.Go))
	body := `{"name":"checkout","namespace":"shop","phase":"Progressing","checksum":"7f8d9c6b5a","metadata":{"eventMessage":"m","eventType":"Normal","timestamp":"1795690800000","service":"checkout","stage":"canary"}}`
	rec := flaggerPost(t, s.Handler(), "/v1/integrations/flagger/event/t/"+eventsToken, body)
	var a flaggerEventAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil || rec.Code != http.StatusAccepted || a.Recorded {
		t.Fatalf("status %d, body %s, want 202 not recorded", rec.Code, rec.Body)
	}
}

// TestURLTokenTakenOutOfTheRequest checks what handlers (and anything that
// logs a request) see after the URL-token middleware.
func TestURLTokenTakenOutOfTheRequest(t *testing.T) {
	a, err := newAuthenticator(testTokens(), false)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	var seen []string
	next := func(c echo.Context) error {
		r := c.Request()
		seen = append(seen, r.RequestURI, r.URL.String(), r.URL.RawQuery, c.Param("token"), TokenName(r.Context()))
		return c.NoContent(http.StatusNoContent)
	}
	mw := a.requireURLToken(func(echo.Context) string { return config.ScopeGate })
	e.POST("/v1/integrations/flagger/:hook/t/:token", next, mw)
	e.POST("/v1/integrations/flagger/:hook", next, mw)
	for _, target := range []string{
		"/v1/integrations/flagger/rollout/t/" + ciToken + "?x=1",
		"/v1/integrations/flagger/rollout?token=" + ciToken + "&x=1",
	} {
		seen = nil
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, nil))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("%s: status %d", target, rec.Code)
		}
		if seen[len(seen)-1] != "ci" {
			t.Errorf("%s: token name %q, want ci", target, seen[len(seen)-1])
		}
		for _, s := range seen {
			if strings.Contains(s, ciToken) {
				t.Errorf("%s: the handler still sees the token in %q", target, s)
			}
		}
		if !strings.Contains(seen[2], "x=1") {
			t.Errorf("%s: other query parameters lost: %q", target, seen[2])
		}
	}
}
