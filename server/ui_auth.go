package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
)

// tokenCookie is the cookie of earlier releases, which held the raw
// token: it is no longer read, and cleared when a browser still sends it.
const tokenCookie = "patchgate_token"

// sessionOf returns the session a page or form was authenticated by, if
// any.
func sessionOf(c echo.Context) (session, bool) {
	sess, ok := c.Get("session").(session)
	return sess, ok
}

// pageAuth authenticates a GET page by its bearer token or, failing a
// header, by the session cookie. A browser without a valid session is
// sent to the sign-in form; an API client gets the usual 401 envelope.
func (s *Server) pageAuth(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Method != http.MethodGet && req.Method != http.MethodHead {
				return &APIError{Status: http.StatusMethodNotAllowed, Message: "pages are read with GET"}
			}
			t, fromCookie, err := s.authenticatePage(c, scope)
			if err != nil {
				return s.pageAuthFailed(c, err, fromCookie)
			}
			r := c.Request()
			c.SetRequest(r.WithContext(withCaller(r.Context(), t)))
			return next(c)
		}
	}
}

// authenticatePage reads the bearer header, else the session cookie (and
// keeps the session in c for the page's forms).
func (s *Server) authenticatePage(c echo.Context, scope string) (t token, fromCookie bool, err error) {
	req := c.Request()
	if req.Header.Get(echo.HeaderAuthorization) != "" || s.auth.off {
		t, err := s.auth.authorize(c, scope)
		return t, false, err
	}
	if _, err := req.Cookie(tokenCookie); err == nil {
		clearCookie(c, tokenCookie)
	}
	ck, err := req.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		t, err := s.auth.authorize(c, scope) // the usual 401
		return t, false, err
	}
	sess, err := s.sessions.read(ck.Value, s.now())
	if err != nil {
		return token{}, true, &APIError{Status: http.StatusUnauthorized, Message: err.Error()}
	}
	if t, err = s.auth.authorizeSession(sess, scope); err != nil {
		return token{}, true, err
	}
	c.Set("session", sess)
	return t, true, nil
}

// pageAuthFailed sends browsers to sign in (dropping a cookie that no
// longer works) and shows them a page for a missing scope; API clients
// get the error itself.
func (s *Server) pageAuthFailed(c echo.Context, err error, fromCookie bool) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	browser := strings.HasPrefix(c.Path(), "/ui/") || fromCookie || acceptsHTML(c.Request())
	if !browser {
		return err
	}
	if ae.Status == http.StatusUnauthorized {
		if fromCookie {
			clearCookie(c, sessionCookie)
		}
		c.Response().Header().Del(echo.HeaderWWWAuthenticate)
		return c.Redirect(http.StatusSeeOther, "/ui/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
	return s.errorPage(c, ae.Status, ae.Message, nil)
}

func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get(echo.HeaderAccept), "text/html")
}

// setSessionCookie sets the session cookie; it expires with the session.
func (s *Server) setSessionCookie(c echo.Context, value string, expires time.Time) {
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     "/",
		Expires:  expires,
		MaxAge:   int(s.sessions.ttl.Seconds()),
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   c.Scheme() == "https",
	})
}

// clearCookie tells the browser to drop a cookie.
func clearCookie(c echo.Context, name string) {
	c.SetCookie(&http.Cookie{Name: name, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.Scheme() == "https"})
}

type loginData struct {
	Next    string
	Message string
}

// handleLoginForm shows the sign-in form.
func (s *Server) handleLoginForm(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if s.auth.off {
		return c.Redirect(http.StatusSeeOther, next)
	}
	return s.render(c, http.StatusOK, "login", uiPage{Title: "Sign in", Data: loginData{Next: next}})
}

// handleLogin checks the posted token and keeps it in the cookie. The
// token travels only in the POST body, never in a URL.
func (s *Server) handleLogin(c echo.Context) error {
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, s.maxBodyBytes)
	next := safeNext(c.FormValue("next"))
	if s.auth.off {
		return c.Redirect(http.StatusSeeOther, next)
	}
	if !sameOrigin(req) {
		return s.errorPage(c, http.StatusForbidden, "Sign-in from another site is refused.", nil)
	}
	addr := clientAddr(c)
	if wait := s.logins.wait(addr, s.now()); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(secs))
		s.logger.WarnContext(req.Context(), "sign-in attempts refused", "client", addr)
		return s.render(c, http.StatusTooManyRequests, "login", uiPage{Title: "Sign in",
			Data: loginData{Next: next, Message: fmt.Sprintf("Too many failed sign-in attempts from your address; try again in %d s.", secs)}})
	}
	token := strings.TrimSpace(c.FormValue("token"))
	t, ok := s.auth.lookup(token)
	if token == "" || !ok {
		s.logins.failed(addr, s.now())
		// A page, not a redirect: the form stays where it was posted.
		return s.render(c, http.StatusUnauthorized, "login", uiPage{Title: "Sign in",
			Data: loginData{Next: next, Message: "That token is not valid."}})
	}
	if !slices.Contains(t.scopes, config.ScopeGate) && !slices.Contains(t.scopes, config.ScopeAdmin) {
		return s.render(c, http.StatusForbidden, "login", uiPage{Title: "Sign in",
			Data: loginData{Next: next, Message: fmt.Sprintf("Token %q lacks the %q (or %q) scope these pages need.", t.name, config.ScopeGate, config.ScopeAdmin)}})
	}
	value, sess, err := s.sessions.issue(t, s.now())
	if err != nil {
		return s.errorPage(c, http.StatusInternalServerError, "", fmt.Errorf("issuing a session: %w", err))
	}
	s.setSessionCookie(c, value, time.Unix(sess.Expires, 0))
	s.logger.InfoContext(req.Context(), "signed in to the UI", "token", t.name, "expires", time.Unix(sess.Expires, 0).UTC())
	return c.Redirect(http.StatusSeeOther, next)
}

// handleLogout clears the cookie.
func (s *Server) handleLogout(c echo.Context) error {
	if !sameOrigin(c.Request()) {
		return s.errorPage(c, http.StatusForbidden, "Sign-out from another site is refused.", nil)
	}
	clearCookie(c, sessionCookie)
	return c.Redirect(http.StatusSeeOther, "/ui/login")
}

// sameOrigin refuses form posts a browser says come from another site.
// Browsers send Sec-Fetch-Site (which pages cannot forge), older ones
// Origin; other clients send neither and are not at risk of cross-site
// forgery.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// safeNext keeps a post-sign-in redirect on this server: a path, never a
// URL elsewhere ("//host", "/\host" or with a scheme).
func safeNext(next string) string {
	const home = "/ui/"
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.ContainsAny(next, "\r\n") {
		return home
	}
	return next
}
