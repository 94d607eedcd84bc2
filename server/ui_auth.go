package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
)

// tokenCookie holds the token a browser signed in with. It is HttpOnly
// and SameSite=Strict, Secure over TLS, and accepted only on the GET pages
// of the UI and the report: never by the JSON API, whose POSTs a cookie
// would expose to cross-site requests.
const tokenCookie = "patchgate_token"

// pageAuth authenticates a GET page by its bearer token or, failing a
// header, by the sign-in cookie. A browser without a valid token is sent
// to the sign-in form; an API client gets the usual 401 envelope.
func (s *Server) pageAuth(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Method != http.MethodGet && req.Method != http.MethodHead {
				return &APIError{Status: http.StatusMethodNotAllowed, Message: "pages are read with GET"}
			}
			fromCookie := false
			if req.Header.Get(echo.HeaderAuthorization) == "" {
				if ck, err := req.Cookie(tokenCookie); err == nil && ck.Value != "" {
					// An undecodable cookie presents no token: 401.
					token, _ := base64.RawURLEncoding.DecodeString(ck.Value)
					r := req.Clone(req.Context())
					r.Header.Set(echo.HeaderAuthorization, "Bearer "+string(token))
					c.SetRequest(r)
					fromCookie = true
				}
			}
			t, err := s.auth.authorize(c, scope)
			if err != nil {
				return s.pageAuthFailed(c, err, fromCookie)
			}
			r := c.Request()
			c.SetRequest(r.WithContext(withCaller(r.Context(), t)))
			return next(c)
		}
	}
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
			s.setTokenCookie(c, "")
		}
		c.Response().Header().Del(echo.HeaderWWWAuthenticate)
		return c.Redirect(http.StatusSeeOther, "/ui/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	}
	return s.errorPage(c, ae.Status, ae.Message, nil)
}

func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get(echo.HeaderAccept), "text/html")
}

// setTokenCookie sets the sign-in cookie, or clears it when token is "".
// The token is base64url-encoded: a cookie value cannot hold every byte a
// token may have.
func (s *Server) setTokenCookie(c echo.Context, token string) {
	ck := &http.Cookie{
		Name:     tokenCookie,
		Value:    base64.RawURLEncoding.EncodeToString([]byte(token)),
		Path:     "/",
		HttpOnly: true,
		SameSite: http.SameSiteStrictMode,
		Secure:   c.Scheme() == "https",
	}
	if token == "" {
		ck.MaxAge = -1
	}
	c.SetCookie(ck)
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
	token := strings.TrimSpace(c.FormValue("token"))
	t, ok := s.auth.lookup(token)
	if token == "" || !ok {
		// A page, not a redirect: the form stays where it was posted.
		return s.render(c, http.StatusUnauthorized, "login", uiPage{Title: "Sign in",
			Data: loginData{Next: next, Message: "That token is not valid."}})
	}
	if !slices.Contains(t.scopes, config.ScopeGate) && !slices.Contains(t.scopes, config.ScopeAdmin) {
		return s.render(c, http.StatusForbidden, "login", uiPage{Title: "Sign in",
			Data: loginData{Next: next, Message: fmt.Sprintf("Token %q lacks the %q (or %q) scope these pages need.", t.name, config.ScopeGate, config.ScopeAdmin)}})
	}
	s.setTokenCookie(c, token)
	s.logger.InfoContext(req.Context(), "signed in to the UI", "token", t.name)
	return c.Redirect(http.StatusSeeOther, next)
}

// handleLogout clears the cookie.
func (s *Server) handleLogout(c echo.Context) error {
	if !sameOrigin(c.Request()) {
		return s.errorPage(c, http.StatusForbidden, "Sign-out from another site is refused.", nil)
	}
	s.setTokenCookie(c, "")
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
