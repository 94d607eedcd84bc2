package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
)

// sessionCookie holds a signed session, never a token: the name and
// scopes of the token signed in with, an expiry and a random id, with an
// HMAC-SHA256 over them. It is HttpOnly and SameSite=Strict, Secure over
// TLS, and accepted only by the UI's pages and forms, never by the JSON API.
const sessionCookie = "patchgate_session"

// DefaultSessionTTL is how long a UI session lasts when UIConfig.SessionTTL
// is 0.
const DefaultSessionTTL = 12 * time.Hour

// MinSessionKeyBytes is the shortest session key accepted.
const MinSessionKeyBytes = 32

// session is what the cookie carries.
type session struct {
	ID      string   `json:"i"`
	Name    string   `json:"n"`
	Scopes  []string `json:"s"`
	Expires int64    `json:"x"`
}

// sessions signs and checks session cookies.
type sessions struct {
	key []byte
	ttl time.Duration
}

// newSessions uses key, or a random key for this process when key is
// empty: then a session works only on the replica that issued it, and
// every session ends when the process restarts.
func newSessions(key []byte, ttl time.Duration) (*sessions, error) {
	if len(key) == 0 {
		key = make([]byte, MinSessionKeyBytes)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generating a session key: %w", err)
		}
	}
	if len(key) < MinSessionKeyBytes {
		return nil, fmt.Errorf("session key is %d bytes, at least %d needed", len(key), MinSessionKeyBytes)
	}
	if ttl < 0 {
		return nil, fmt.Errorf("session ttl must not be negative, got %s", ttl)
	}
	if ttl == 0 {
		ttl = DefaultSessionTTL
	}
	return &sessions{key: slices.Clone(key), ttl: ttl}, nil
}

func (s *sessions) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// issue returns the cookie value of a new session for token t.
func (s *sessions) issue(t token, now time.Time) (string, session, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return "", session{}, err
	}
	sess := session{ID: base64.RawURLEncoding.EncodeToString(id), Name: t.name, Scopes: slices.Clone(t.scopes), Expires: now.Add(s.ttl).Unix()}
	payload, err := json.Marshal(sess)
	if err != nil {
		return "", session{}, err
	}
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac("session", p)), sess, nil
}

var errBadSession = errors.New("the session is not valid or has expired: sign in again")

// read checks a cookie value's signature and expiry.
func (s *sessions) read(value string, now time.Time) (session, error) {
	var sess session
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return sess, errBadSession
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac("session", p)) {
		return sess, errBadSession
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || json.Unmarshal(payload, &sess) != nil || sess.ID == "" || sess.Name == "" {
		return sess, errBadSession
	}
	if !now.Before(time.Unix(sess.Expires, 0)) {
		return sess, errBadSession
	}
	return sess, nil
}

// csrf is the token a form of this session carries: an HMAC of the
// session's id, so a page of another site, which cannot read the
// session's pages, cannot know it (a synchronizer token without server
// state).
func (s *sessions) csrf(sess session) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sess.ID))
}

func (s *sessions) checkCSRF(sess session, presented string) bool {
	got, err := base64.RawURLEncoding.DecodeString(presented)
	return err == nil && hmac.Equal(got, s.mac("csrf", sess.ID))
}

// authorizeSession says whether sess may use scope: the token it was
// issued for must still be configured, and both the session and the
// token as configured now must hold the scope (or admin), so removing a
// token or a scope from the configuration ends what sessions may do.
func (a *authenticator) authorizeSession(sess session, scope string) (token, error) {
	i := slices.IndexFunc(a.tokens, func(t token) bool { return t.name == sess.Name })
	if i < 0 {
		return token{}, &APIError{Status: http.StatusUnauthorized, Message: errBadSession.Error()}
	}
	has := func(scopes []string) bool {
		return slices.Contains(scopes, scope) || slices.Contains(scopes, config.ScopeAdmin)
	}
	if !has(sess.Scopes) || !has(a.tokens[i].scopes) {
		return token{}, &APIError{Status: http.StatusForbidden, Field: "scope",
			Message: fmt.Sprintf("token %q lacks scope %q (or %q) needed here", sess.Name, scope, config.ScopeAdmin)}
	}
	return a.tokens[i], nil
}

// Sign-in attempts allowed per client address: a burst, then one per
// interval.
const (
	loginBurst    = 5
	loginInterval = 12 * time.Second
	// loginClients bounds the addresses remembered; past it, new
	// addresses share one allowance.
	loginClients = 4096
)

// loginLimiter is a token bucket per client address with bounded memory.
type loginLimiter struct {
	mu       sync.Mutex
	buckets  map[string]*bucket
	overflow bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{buckets: map[string]*bucket{}, overflow: bucket{tokens: loginBurst}}
}

// refill brings b up to now.
func (b *bucket) refill(now time.Time) {
	if !b.at.IsZero() && now.After(b.at) {
		b.tokens = min(loginBurst, b.tokens+float64(now.Sub(b.at))/float64(loginInterval))
	}
	b.at = now
}

// wait says how long addr must wait before its next sign-in attempt, 0
// when it may try now.
func (l *loginLimiter) wait(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) < loginClients {
			return 0
		}
		b = &l.overflow
	}
	b.refill(now)
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(loginInterval))
	}
	return 0
}

// failed takes one attempt from addr's allowance: only failed sign-ins
// count, so people behind one proxy are not held up by each other's
// successful ones.
func (l *loginLimiter) failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= loginClients {
			// Forget the addresses whose allowance is whole again.
			for k, v := range l.buckets {
				if v.refill(now); v.tokens >= loginBurst {
					delete(l.buckets, k)
				}
			}
		}
		if len(l.buckets) >= loginClients {
			b = &l.overflow
		} else {
			b = &bucket{tokens: loginBurst, at: now}
			l.buckets[addr] = b
		}
	}
	b.refill(now)
	b.tokens = max(b.tokens-1, 0)
}

// clientAddr is the peer's address: forwarding headers are not trusted
// here, so behind a proxy every client shares the proxy's allowance of
// failed attempts.
func clientAddr(c echo.Context) string {
	return echo.ExtractIPDirect()(c.Request())
}
