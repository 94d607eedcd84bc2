package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
)

// sessionPayload decodes the session a cookie carries, without checking it.
func sessionPayload(t *testing.T, ck *http.Cookie) session {
	t.Helper()
	p, _, ok := strings.Cut(ck.Value, ".")
	if !ok {
		t.Fatalf("cookie %q is not payload.signature", ck.Value)
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	var sess session
	if err := json.Unmarshal(raw, &sess); err != nil {
		t.Fatal(err)
	}
	return sess
}

// The cookie is a signed session naming the token, never the token.
func TestUISessionCookie(t *testing.T) {
	now := uiNow
	key := []byte(strings.Repeat("k", MinSessionKeyBytes))
	s := newUIServer(t, func(c *Config) {
		c.Now = func() time.Time { return now }
		c.UI.SessionKey = key
		c.UI.SessionTTL = 2 * time.Hour
	})
	h := s.Handler()
	ck := login(t, h, adminToken)
	if ck.Name != sessionCookie {
		t.Fatalf("cookie %q, want %q", ck.Name, sessionCookie)
	}
	for _, secret := range []string{adminToken, base64.RawURLEncoding.EncodeToString([]byte(adminToken)), base64.StdEncoding.EncodeToString([]byte(adminToken))} {
		if strings.Contains(ck.Value, secret) {
			t.Fatalf("the cookie holds the token (%q)", secret)
		}
	}
	sess := sessionPayload(t, ck)
	if sess.Name != "ops" || len(sess.Scopes) != 1 || sess.Scopes[0] != config.ScopeAdmin || sess.Expires != uiNow.Add(2*time.Hour).Unix() {
		t.Errorf("session %+v, want token ops, scope admin, expiry in 2h", sess)
	}
	if ck.MaxAge != 7200 {
		t.Errorf("cookie Max-Age %d, want the session's 7200", ck.MaxAge)
	}
	if rec := page(t, h, http.MethodGet, "/ui/", ck, nil, nil); rec.Code != http.StatusOK {
		t.Fatalf("signed in: %d", rec.Code)
	}

	// A replica with the same key reads the session; one with another does not.
	same := newUIServer(t, func(c *Config) { c.Now = func() time.Time { return now }; c.UI.SessionKey = key })
	if rec := page(t, same.Handler(), http.MethodGet, "/ui/", ck, nil, nil); rec.Code != http.StatusOK {
		t.Errorf("a replica sharing the key: %d", rec.Code)
	}
	other := newUIServer(t, func(c *Config) { c.Now = func() time.Time { return now } })
	if rec := page(t, other.Handler(), http.MethodGet, "/ui/", ck, nil, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("a server with its own key: %d, want the sign-in redirect", rec.Code)
	}

	// Edited sessions are refused: more scopes, another name, a later expiry.
	p, sig, _ := strings.Cut(ck.Value, ".")
	for name, edit := range map[string]func(*session){
		"scopes": func(s *session) { s.Scopes = append(s.Scopes, config.ScopeOverride) },
		"name":   func(s *session) { s.Name = "ci" },
		"expiry": func(s *session) { s.Expires += 3600 },
	} {
		t.Run("edited "+name, func(t *testing.T) {
			e := sessionPayload(t, ck)
			edit(&e)
			raw, _ := json.Marshal(e)
			forged := &http.Cookie{Name: sessionCookie, Value: base64.RawURLEncoding.EncodeToString(raw) + "." + sig}
			if rec := page(t, h, http.MethodGet, "/ui/", forged, nil, nil); rec.Code != http.StatusSeeOther {
				t.Errorf("forged session: %d", rec.Code)
			}
		})
	}
	if rec := page(t, h, http.MethodGet, "/ui/", &http.Cookie{Name: sessionCookie, Value: p}, nil, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("unsigned session: %d", rec.Code)
	}

	// The session ends at its expiry, and the page sends the browser to sign in.
	now = uiNow.Add(2*time.Hour + time.Second)
	rec := page(t, h, http.MethodGet, "/ui/history", ck, nil, nil)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/ui/login") {
		t.Errorf("expired session: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
}

// A session stops at once when its token leaves the configuration.
func TestUISessionOfRemovedToken(t *testing.T) {
	key := []byte(strings.Repeat("k", MinSessionKeyBytes))
	s := newUIServer(t, func(c *Config) { c.UI.SessionKey = key })
	ck := login(t, s.Handler(), ciToken)
	without := newUIServer(t, func(c *Config) {
		c.UI.SessionKey = key
		c.Tokens = []config.Token{{Name: "ops", Scopes: []string{config.ScopeAdmin}, Value: adminToken}}
	})
	if rec := page(t, without.Handler(), http.MethodGet, "/ui/", ck, nil, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("session of a removed token: %d", rec.Code)
	}
}

func TestSessionKeyTooShort(t *testing.T) {
	if _, err := newSessions([]byte("short"), 0); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short key: %v", err)
	}
}

// Failed sign-ins are limited per client address; others are not held up.
func TestUISignInRateLimit(t *testing.T) {
	now := uiNow
	s := newUIServer(t, func(c *Config) { c.Now = func() time.Time { return now } })
	h := s.Handler()
	try := func(addr, token string) int {
		t.Helper()
		req := formRequest(http.MethodPost, "/ui/login", url.Values{"token": {token}, "next": {"/ui/"}})
		req.RemoteAddr = addr + ":50000"
		rec := serve(h, req)
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		return rec.Code
	}
	for i := range loginBurst {
		if code := try("198.51.100.7", fmt.Sprintf("guess-%d", i)); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	if code := try("198.51.100.7", ciToken); code != http.StatusTooManyRequests {
		t.Fatalf("after %d failures even the right token: %d, want 429", loginBurst, code)
	}
	if code := try("198.51.100.8", ciToken); code != http.StatusSeeOther {
		t.Errorf("another address: %d", code)
	}
	now = now.Add(loginInterval)
	if code := try("198.51.100.7", ciToken); code != http.StatusSeeOther {
		t.Errorf("one interval later: %d", code)
	}
}

// The limiter remembers a bounded number of addresses.
func TestLoginLimiterBounded(t *testing.T) {
	l := newLoginLimiter()
	for i := range loginClients + 100 {
		l.failed(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), uiNow)
	}
	if len(l.buckets) > loginClients {
		t.Errorf("%d addresses remembered, at most %d", len(l.buckets), loginClients)
	}
	// Past the bound, new addresses share one allowance.
	for range loginBurst {
		l.failed("192.0.2.1", uiNow)
	}
	if l.wait("192.0.2.2", uiNow) == 0 {
		t.Error("the shared allowance is not used past the bound")
	}
	// Once allowances are whole again the addresses are forgotten.
	l.failed("192.0.2.3", uiNow.Add(time.Hour))
	if len(l.buckets) != 1 {
		t.Errorf("%d addresses remembered after an hour, want 1", len(l.buckets))
	}
}

func formRequest(method, target string, form url.Values) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
