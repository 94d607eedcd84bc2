package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/gate"
)

func TestAuth(t *testing.T) {
	const body = `{"service":"checkout","patch_id":"p1","stage":"canary"}`
	tests := []struct {
		name          string
		header        string // Authorization; "" sends none
		status        int
		wwwAuth       bool
		field         string
		messageHas    string
		wantTokenName string
	}{
		{name: "no header", status: http.StatusUnauthorized, wwwAuth: true, messageHas: "missing"},
		{name: "basic scheme", header: "Basic Y2k6c2VjcmV0", status: http.StatusUnauthorized, wwwAuth: true, messageHas: "Bearer"},
		{name: "bearer without token", header: "Bearer ", status: http.StatusUnauthorized, wwwAuth: true},
		{name: "wrong token", header: "Bearer nope", status: http.StatusUnauthorized, wwwAuth: true, messageHas: "invalid token"},
		{name: "token prefix", header: "Bearer " + ciToken[:3], status: http.StatusUnauthorized, wwwAuth: true},
		{name: "token with suffix", header: "Bearer " + ciToken + "x", status: http.StatusUnauthorized, wwwAuth: true},
		{name: "right token wrong scope", header: "Bearer " + eventsToken, status: http.StatusForbidden, field: "scope", messageHas: `"gate"`},
		{name: "gate scope", header: "Bearer " + ciToken, status: http.StatusOK, wantTokenName: "ci"},
		{name: "lower-case scheme", header: "bearer " + ciToken, status: http.StatusOK, wantTokenName: "ci"},
		{name: "admin scope", header: "Bearer " + adminToken, status: http.StatusOK, wantTokenName: "ops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tokenName string
			g := gateFunc(func(ctx context.Context, req gate.Request) (gate.Decision, error) {
				tokenName = TokenName(ctx)
				return decisionFor(req, gate.Go), nil
			})
			s, _ := newTestServer(t, g)
			for _, target := range []string{"/v1/gate", "/v1/decisions", "/v1/decisions/x"} {
				method, reqBody := http.MethodGet, ""
				if target == "/v1/gate" {
					method, reqBody = http.MethodPost, body
				}
				req := httptest.NewRequest(method, target, strings.NewReader(reqBody))
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				rec := httptest.NewRecorder()
				s.Handler().ServeHTTP(rec, req)

				if tt.status == http.StatusOK {
					// Past auth: the gate answers, the empty log 200s or 404s.
					if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden {
						t.Errorf("%s: status %d: %s", target, rec.Code, rec.Body)
					}
					continue
				}
				if rec.Code != tt.status {
					t.Fatalf("%s: status %d, want %d: %s", target, rec.Code, tt.status, rec.Body)
				}
				e := errorOf(t, rec)
				if e.Field != tt.field || !strings.Contains(e.Message, tt.messageHas) {
					t.Errorf("%s: error %+v, want field %q and message with %q", target, e, tt.field, tt.messageHas)
				}
				if got := rec.Header().Get("WWW-Authenticate"); tt.wwwAuth != strings.HasPrefix(got, "Bearer") {
					t.Errorf("%s: WWW-Authenticate %q", target, got)
				}
				if strings.Contains(rec.Body.String(), "secret") {
					t.Errorf("%s: a token value is in the answer: %s", target, rec.Body)
				}
			}
			if tokenName != tt.wantTokenName {
				t.Errorf("TokenName %q, want %q", tokenName, tt.wantTokenName)
			}
		})
	}
}

func TestAuthNotNeededForProbesAndMetrics(t *testing.T) {
	s, _ := newTestServer(t, knownServiceGate(gate.Go))
	for _, target := range []string{"/healthz", "/readyz", "/metrics"} {
		if rec := do(t, s.Handler(), http.MethodGet, target, "", ""); rec.Code != http.StatusOK {
			t.Errorf("%s: status %d", target, rec.Code)
		}
	}
}

func TestInsecureNoAuth(t *testing.T) {
	var tokenName string
	g := gateFunc(func(ctx context.Context, req gate.Request) (gate.Decision, error) {
		tokenName = TokenName(ctx)
		return decisionFor(req, gate.Go), nil
	})
	s, _ := newTestServer(t, g, func(c *Config) { c.Tokens, c.InsecureNoAuth = nil, true })
	rec := do(t, s.Handler(), http.MethodPost, "/v1/gate", "", `{"service":"checkout","patch_id":"p1","stage":"canary"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if tokenName != anonymous {
		t.Errorf("TokenName %q, want %q", tokenName, anonymous)
	}
}

func TestTokenNameOutsideRequest(t *testing.T) {
	if got := TokenName(context.Background()); got != "" {
		t.Errorf("TokenName = %q, want empty", got)
	}
}
