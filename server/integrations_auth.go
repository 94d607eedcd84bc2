package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
)

// redacted replaces a URL token wherever the request still carries it.
const redacted = "REDACTED"

// requireURLToken is require for callers that cannot send headers
// (Flagger): the token may also come as the path parameter :token or the
// query parameter token. It is taken out of the request before anything
// else sees it, so no log line, error or metric label can carry it, and
// compared like a bearer token (constant time over hashes). The scope
// needed may depend on the request.
func (a *authenticator) requireURLToken(scope func(echo.Context) string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			presented, inURL := takeURLToken(c)
			if a.off {
				return next(withName(c, token{name: anonymous}))
			}
			if !inURL {
				t, err := a.authorize(c, scope(c))
				if err != nil {
					return err
				}
				return next(withName(c, t))
			}
			t, ok := a.lookup(presented)
			if !ok {
				return &APIError{Status: http.StatusUnauthorized, Message: "invalid token"}
			}
			need := scope(c)
			if !slices.Contains(t.scopes, need) && !slices.Contains(t.scopes, config.ScopeAdmin) {
				return &APIError{Status: http.StatusForbidden, Field: "scope",
					Message: fmt.Sprintf("token %q lacks scope %q (or %q) needed here", t.name, need, config.ScopeAdmin)}
			}
			return next(withName(c, t))
		}
	}
}

func withName(c echo.Context, t token) echo.Context {
	req := c.Request()
	c.SetRequest(req.WithContext(withCaller(req.Context(), t)))
	return c
}

// takeURLToken removes the token from the path parameters, the path and
// the query of the request and returns it. A token in the path wins over
// one in the query; both are removed.
func takeURLToken(c echo.Context) (string, bool) {
	var token string
	found := false
	names, values := c.ParamNames(), slices.Clone(c.ParamValues())
	for i, n := range names {
		if n == "token" && i < len(values) {
			token, found = values[i], true
			values[i] = redacted
		}
	}
	r := c.Request()
	u := *r.URL
	if found {
		c.SetParamValues(values...)
		u.Path = redactPathToken(u.Path)
		u.RawPath = redactPathToken(u.RawPath)
	}
	if q := u.Query(); q.Has("token") {
		if !found {
			token, found = q.Get("token"), true
		}
		q.Del("token")
		u.RawQuery = q.Encode()
	}
	if !found {
		return "", false
	}
	r2 := r.Clone(r.Context())
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	c.SetRequest(r2)
	return token, true
}

// redactPathToken replaces what follows /t/ in a Flagger token path.
func redactPathToken(path string) string {
	i := strings.LastIndex(path, "/t/")
	if i < 0 {
		return path
	}
	return path[:i] + "/t/" + redacted
}
