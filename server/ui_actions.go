package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
)

// The UI's actions are HTML forms (no script): approve (force go) or stop
// (force no_go) a stage, remove an override, start or end a freeze. Each
// posts to /ui/actions/..., needs a session holding the scope the JSON
// API needs for the same thing (override; admin for freezes), carries the
// session's CSRF token, and is carried out by the JSON API's own handler
// (createControl, deleteControl), so validation, storage, logging and the
// gate's refresh are the API's.

// csrfField is the form field of the CSRF token.
const csrfField = "csrf"

// uiActionRoutes registers the forms' targets; without an operator store
// there is nothing to act on and the pages show no forms.
func (s *Server) uiActionRoutes(e *echo.Echo) {
	if s.operator == nil || s.auth.off {
		return
	}
	override, admin := s.formAuth(config.ScopeOverride), s.formAuth(config.ScopeAdmin)
	e.POST("/ui/actions/overrides", s.handleOverrideForm, override)
	e.POST("/ui/actions/overrides/:id/delete", s.handleDeleteOverrideForm, override)
	e.POST("/ui/actions/freezes", s.handleFreezeForm, admin)
	e.POST("/ui/actions/freezes/:id/end", s.handleEndFreezeForm, admin)
}

// formAuth lets a form post through when it comes from this site, with a
// session that holds scope (or admin) and the session's CSRF token.
func (s *Server) formAuth(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			req.Body = http.MaxBytesReader(c.Response(), req.Body, s.maxBodyBytes)
			if !sameOrigin(req) {
				return s.errorPage(c, http.StatusForbidden, "A form posted from another site is refused.", nil)
			}
			ck, err := req.Cookie(sessionCookie)
			if err != nil {
				return c.Redirect(http.StatusSeeOther, "/ui/login")
			}
			sess, err := s.sessions.read(ck.Value, s.now())
			if err != nil {
				clearCookie(c, sessionCookie)
				return c.Redirect(http.StatusSeeOther, "/ui/login")
			}
			if !s.sessions.checkCSRF(sess, c.FormValue(csrfField)) {
				return s.errorPage(c, http.StatusForbidden, "The form's security token is missing or belongs to another session: reload the page and try again.", nil)
			}
			t, err := s.auth.authorizeSession(sess, scope)
			if err != nil {
				var ae *APIError
				if errors.As(err, &ae) {
					return s.errorPage(c, ae.Status, ae.Message, nil)
				}
				return err
			}
			c.Set("session", sess)
			c.SetRequest(req.WithContext(withCaller(req.Context(), t)))
			return next(c)
		}
	}
}

// viaAPI runs an API handler on a JSON body (and query and path id) made
// from the form, in the signed-in person's name, and returns its error.
func (s *Server) viaAPI(c echo.Context, h echo.HandlerFunc, body any, query url.Values, id string) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	r := c.Request()
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, "/?"+query.Encode(), bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	ac := c.Echo().NewContext(req, &discard{header: http.Header{}})
	if id != "" {
		ac.SetParamNames("id")
		ac.SetParamValues(id)
	}
	return h(ac)
}

// actionDone sends the browser to where it came from (a page of this
// server) once an action is stored.
func (s *Server) actionDone(c echo.Context, fallback string) error {
	next := c.FormValue("next")
	if next == "" {
		next = fallback
	}
	return c.Redirect(http.StatusSeeOther, safeNext(next))
}

// actionFailed shows what the API said was wrong with the form.
func (s *Server) actionFailed(c echo.Context, what string, err error) error {
	ae := toAPIError(err)
	msg := ae.Message
	if ae.Field != "" {
		msg = ae.Field + " " + msg
	}
	if ae.Status >= http.StatusInternalServerError {
		return s.errorPage(c, ae.Status, "", err)
	}
	return s.errorPage(c, ae.Status, fmt.Sprintf("The %s was not made: %s.", what, strings.TrimSuffix(msg, ".")), nil)
}

// handleOverrideForm approves (verdict go) or stops (no_go) a service,
// patch or stage.
func (s *Server) handleOverrideForm(c echo.Context) error {
	in := overrideInput{Service: c.FormValue("service"), PatchID: c.FormValue("patch_id"), Stage: c.FormValue("stage"),
		Verdict: c.FormValue("verdict"), Reason: c.FormValue("reason"), TTL: c.FormValue("ttl"), ExpiresAt: c.FormValue("expires_at")}
	if err := s.viaAPI(c, s.handlePostOverride, in, nil, ""); err != nil {
		return s.actionFailed(c, "override", err)
	}
	return s.actionDone(c, "/ui/overrides")
}

func (s *Server) handleDeleteOverrideForm(c echo.Context) error {
	if err := s.viaAPI(c, s.handleDeleteOverride, nil, url.Values{"reason": {c.FormValue("reason")}}, c.Param("id")); err != nil {
		return s.actionFailed(c, "removal", err)
	}
	return s.actionDone(c, "/ui/overrides")
}

// handleFreezeForm starts a freeze of a service, or of every one.
func (s *Server) handleFreezeForm(c echo.Context) error {
	in := freezeInput{Service: c.FormValue("service"), Duration: c.FormValue("duration"), Reason: c.FormValue("reason")}
	if err := s.viaAPI(c, s.handlePostFreeze, in, nil, ""); err != nil {
		return s.actionFailed(c, "freeze", err)
	}
	return s.actionDone(c, "/ui/overrides")
}

// handleEndFreezeForm ends a freeze now.
func (s *Server) handleEndFreezeForm(c echo.Context) error {
	if err := s.viaAPI(c, s.handleDeleteFreeze, nil, url.Values{"reason": {c.FormValue("reason")}}, c.Param("id")); err != nil {
		return s.actionFailed(c, "end of the freeze", err)
	}
	return s.actionDone(c, "/ui/overrides")
}

// actions is what a page's forms need: the session's CSRF token and what
// the session may do.
type actions struct {
	CSRF             string
	Override, Freeze bool
}

func (s *Server) actionsFor(c echo.Context) actions {
	sess, ok := sessionOf(c)
	if !ok || s.operator == nil {
		return actions{}
	}
	_, errOverride := s.auth.authorizeSession(sess, config.ScopeOverride)
	_, errAdmin := s.auth.authorizeSession(sess, config.ScopeAdmin)
	return actions{CSRF: s.sessions.csrf(sess), Override: errOverride == nil, Freeze: errAdmin == nil}
}

// discard is the response writer of an API handler run for a form: the
// form answers with a redirect or a page of its own.
type discard struct{ header http.Header }

func (d *discard) Header() http.Header         { return d.header }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
