package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
)

// anonymous is the token name of requests when authentication is off.
const anonymous = "anonymous"

// TokenName returns the name of the token that authenticated the request
// carried by ctx ("anonymous" with InsecureNoAuth, "" outside a request).
func TokenName(ctx context.Context) string {
	t, _ := ctx.Value(callerKey{}).(token)
	return t.name
}

type token struct {
	name   string
	hash   [sha256.Size]byte
	scopes []string
	limits limits
}

// authenticator checks bearer tokens. Only their SHA-256 hashes are kept.
type authenticator struct {
	tokens []token
	// off is true with InsecureNoAuth and no tokens.
	off bool
}

func newAuthenticator(tokens []config.Token, insecureNoAuth bool) (*authenticator, error) {
	a := &authenticator{off: len(tokens) == 0 && insecureNoAuth}
	seen := make(map[[sha256.Size]byte]string, len(tokens))
	for i, t := range tokens {
		if t.Name == "" {
			return nil, fmt.Errorf("token %d has no name", i)
		}
		if t.Value == "" {
			return nil, fmt.Errorf("token %q has no value", t.Name)
		}
		h := sha256.Sum256([]byte(t.Value))
		if other, ok := seen[h]; ok {
			return nil, fmt.Errorf("tokens %q and %q have the same value", other, t.Name)
		}
		seen[h] = t.Name
		a.tokens = append(a.tokens, token{name: t.Name, hash: h, scopes: slices.Clone(t.Scopes),
			limits: limits{token: t.Name, services: slices.Clone(t.Services), prefixes: slices.Clone(t.PatchPrefixes)}})
	}
	return a, nil
}

// lookup returns the token whose value is presented. Every configured token
// is compared, in constant time over fixed-length hashes, so the time taken
// says nothing about which token or how much of it matched.
func (a *authenticator) lookup(presented string) (token, bool) {
	h := sha256.Sum256([]byte(presented))
	found := -1
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(h[:], a.tokens[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return token{}, false
	}
	return a.tokens[found], true
}

// require lets a request through when its bearer token has scope (or
// admin), and puts the token's name in the request context.
func (a *authenticator) require(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			t, err := a.authorize(c, scope)
			if err != nil {
				return err
			}
			req := c.Request()
			c.SetRequest(req.WithContext(withCaller(req.Context(), t)))
			return next(c)
		}
	}
}

func (a *authenticator) authorize(c echo.Context, scope string) (token, error) {
	if a.off {
		return token{name: anonymous}, nil
	}
	presented, err := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
	if err != nil {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="patchgate"`)
		return token{}, &APIError{Status: http.StatusUnauthorized, Message: err.Error()}
	}
	t, ok := a.lookup(presented)
	if !ok {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="patchgate", error="invalid_token"`)
		return token{}, &APIError{Status: http.StatusUnauthorized, Message: "invalid token"}
	}
	if !slices.Contains(t.scopes, scope) && !slices.Contains(t.scopes, config.ScopeAdmin) {
		return token{}, &APIError{Status: http.StatusForbidden, Field: "scope",
			Message: fmt.Sprintf("token %q lacks scope %q (or %q) needed here", t.name, scope, config.ScopeAdmin)}
	}
	return t, nil
}

// bearer extracts the token of an "Authorization: Bearer <token>" header.
func bearer(header string) (string, error) {
	if header == "" {
		return "", errors.New("missing Authorization: Bearer token")
	}
	scheme, value, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", errors.New("authorization scheme must be Bearer")
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return "", errors.New("empty bearer token")
	}
	return value, nil
}
