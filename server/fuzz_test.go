package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/patchgate/patchgate/gate"
)

// FuzzGateRequest posts arbitrary bodies: the handler never panics, always
// answers JSON with an expected status, and only valid requests reach the gate.
func FuzzGateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"service":"checkout","patch_id":"p1","stage":"canary"}`,
		`{"service":"checkout","patch_id":"p1","stage":"canary","params":{"canary_hash":"a\"}\n"}}`,
		`{"service":"billing","patch_id":"p1","stage":"canary"}`,
		`{"service":"checkout","patch_id":"p1","stage":"canary","params":{"1":"x"}}`,
		`{"service":"checkout","patch_id":"p1","stage":"canary"} x`,
		"{\"service\":\"\xff\"}",
		`{"service":"checkout","extra":1}`,
		`{"params":{"a":1}}`,
		`[]`, `null`, `"x"`, `{`, ``, `{"service":"` + strings.Repeat("x", 300) + `"}`,
	} {
		f.Add([]byte(seed))
	}

	var logs strings.Builder
	invalid := make(chan string, 1)
	g := gateFunc(func(_ context.Context, req gate.Request) (gate.Decision, error) {
		if problem := requestProblem(req); problem != "" {
			select {
			case invalid <- problem:
			default:
			}
		}
		if req.Service != "checkout" {
			return gate.Decision{}, &gate.NotFoundError{Field: "service", Value: req.Service}
		}
		return decisionFor(req, gate.Go), nil
	})
	s, _ := newTestServer(f, g, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
		c.MaxBodyBytes = 4 << 10
	})
	h := s.Handler()
	allowed := map[int]bool{200: true, 400: true, 404: true, 413: true, 422: true, 500: true}

	f.Fuzz(func(t *testing.T, body []byte) {
		logs.Reset()
		req := httptest.NewRequest(http.MethodPost, "/v1/gate", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+ciToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("handler panicked on %q: %s", body, logs.String())
		}
		select {
		case problem := <-invalid:
			t.Fatalf("gate received an invalid request from %q: %s", body, problem)
		default:
		}
		if !allowed[rec.Code] {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type %q for %q", ct, body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON for %q: %s", body, rec.Body)
		}
	})
}

// requestProblem says what is wrong with a request the gate received, or "".
func requestProblem(req gate.Request) string {
	for field, v := range map[string]string{"service": req.Service, "patch_id": req.PatchID, "stage": req.Stage} {
		if v == "" || len(v) > maxFieldBytes || !utf8.ValidString(v) {
			return field + " invalid"
		}
	}
	if len(req.Params) > maxParams {
		return "too many params"
	}
	for k, v := range req.Params {
		if checkParamKey(k) != nil || len(v) > maxParamValueBytes || !utf8.ValidString(v) {
			return "param " + k + " invalid"
		}
	}
	return ""
}
