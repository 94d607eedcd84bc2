package server

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/numfmt"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/report"
)

// UIConfig is what the web UI and the coverage report read beyond the
// decision log.
type UIConfig struct {
	// Report builds the coverage report over a period ending now. Nil:
	// GET /reports/coverage answers 503 saying the server has no report
	// source.
	Report func(ctx context.Context, period time.Duration) (*report.Report, error)
	// Controls lists the overrides and freezes (store.Store implements
	// it). Nil: the overrides page says it cannot list them.
	Controls Controls
	// SessionKey signs the UI's session cookies (at least
	// MinSessionKeyBytes). Replicas behind one address must share it.
	// Empty: a random key per process, so a session works only on the
	// replica that issued it and ends when the process restarts.
	SessionKey []byte
	// SessionTTL is how long a session lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	// Series runs the decision page chart's queries (the gate's metric
	// source). Nil: the chart says "no data".
	Series RangeQuerier
}

// Controls reads the operator's overrides and freezes.
type Controls interface {
	ListOverrides(ctx context.Context, f store.ControlFilter) ([]store.Override, error)
	ListFreezes(ctx context.Context, f store.ControlFilter) ([]store.Freeze, error)
}

//go:embed ui/*.html
var uiFiles embed.FS

// uiPages are the UI's pages, each the layout with its own content.
var uiPages = func() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "error", "rollouts", "decision", "history", "overrides"} {
		pages[name] = template.Must(template.New(name).Funcs(uiFuncs).ParseFS(uiFiles, "ui/layout.html", "ui/"+name+".html"))
	}
	return pages
}()

// uiPage is what every page template gets.
type uiPage struct {
	Title    string
	Nav      string
	LoggedIn bool
	Data     any
	// Actions are the forms the signed-in session may post.
	Actions actions
}

// contentSecurityPolicy keeps the pages to themselves: no script at all,
// inline styles only, forms posting to this server, not framed.
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageHeaders are set on every UI page and report.
func pageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer a browser sends
	// "Origin: null" on form posts, which sameOrigin cannot tell apart.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// render writes a page; a template error becomes a plain 500.
func (s *Server) render(c echo.Context, status int, name string, p uiPage) error {
	if !s.auth.off {
		p.LoggedIn = true
	}
	p.Actions = s.actionsFor(c)
	var buf bytes.Buffer
	if err := uiPages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		s.logger.ErrorContext(c.Request().Context(), "rendering page", "page", name, "err", err)
		pageHeaders(c.Response().Header())
		return c.String(http.StatusInternalServerError, "internal error (see the server log)")
	}
	pageHeaders(c.Response().Header())
	return c.HTMLBlob(status, buf.Bytes())
}

// errorPage answers with an HTML error page. Details of a 5xx stay in the
// log: they may name internal hosts.
func (s *Server) errorPage(c echo.Context, status int, message string, err error) error {
	if status >= http.StatusInternalServerError {
		s.logger.ErrorContext(c.Request().Context(), "page failed", "path", c.Path(), "status", status, "err", err)
		message = "internal error (see the server log)"
	}
	return s.render(c, status, "error", uiPage{Title: http.StatusText(status), Data: map[string]string{"Message": message}})
}

// uiRoutes registers the web UI and the coverage report.
func (s *Server) uiRoutes(e *echo.Echo) {
	e.GET("/ui", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/ui/") })
	e.GET("/ui/login", s.handleLoginForm)
	e.POST("/ui/login", s.handleLogin)
	e.POST("/ui/logout", s.handleLogout)

	page := s.pageAuth(config.ScopeGate)
	e.GET("/ui/", s.handleRollouts, page)
	e.GET("/ui/decisions/:id", s.handleDecisionPage, page)
	e.GET("/ui/history", s.handleHistory, page)
	e.GET("/ui/overrides", s.handleOverrides, page)
	e.GET("/reports/coverage", s.handleCoverageReport, page)
	s.uiActionRoutes(e)
	e.GET("/ui/*", func(c echo.Context) error {
		return s.errorPage(c, http.StatusNotFound, "There is no such page.", nil)
	})
}

// stages returns a service's stage names in order, nil when unknown.
func (s *Server) stages(service string) []string {
	if s.policy == nil {
		return nil
	}
	for _, svc := range s.policy.Services {
		if svc.Name == service {
			names := make([]string, len(svc.Stages))
			for i, st := range svc.Stages {
				names[i] = st.Name
			}
			return names
		}
	}
	return nil
}

// stageOf says "2 of 4" for a stage of a known service, "" otherwise.
func (s *Server) stageOf(service, stage string) string {
	names := s.stages(service)
	if i := slices.Index(names, stage); i >= 0 {
		return fmt.Sprintf("%d of %d", i+1, len(names))
	}
	return ""
}

var uiFuncs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"verdict": func(v string) string {
		switch v {
		case "go":
			return "GO"
		case "no_go":
			return "NO GO"
		case "wait":
			return "WAIT"
		}
		return v
	},
	"short": func(s string, n int) string {
		if len(s) <= n {
			return s
		}
		cut := n
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "…"
	},
	"value":       formatValue,
	"join":        func(s []string) string { return strings.Join(s, ", ") },
	"details":     sortedDetails,
	"startsource": startSource,
	"threshold":   thresholdText,
	"observed":    observedText,
	"formula":     statsFormula,
	"rows": func(rows []rolloutRow, id string) map[string]any {
		return map[string]any{"Rows": rows, "ID": id}
	},
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// formatValue writes a check's number: integers with thousands
// separators, others to four significant digits; "—" when absent.
func formatValue(v *float64) string {
	if v == nil {
		return "—"
	}
	x := *v
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return strconv.FormatFloat(x, 'f', -1, 64)
	case x == math.Trunc(x) && math.Abs(x) < 1e15:
		return numfmt.Grouped(x, 0)
	case math.Abs(x) >= 1000:
		return numfmt.Grouped(x, 0)
	default:
		return strconv.FormatFloat(x, 'g', 4, 64)
	}
}

type keyValue struct {
	Key   string
	Value string
}

func sortedDetails(m map[string]float64) []keyValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]keyValue, len(keys))
	for i, k := range keys {
		v := m[k]
		out[i] = keyValue{Key: k, Value: formatValue(&v)}
	}
	return out
}

func startSource(s string) string {
	switch s {
	case "request":
		return "the request's stage_started_at"
	case "event":
		return "the stage_started event"
	case "first_ask":
		return "the first ask"
	}
	return s
}

// humanDuration rounds d to what a reader needs: seconds, minutes, hours
// or days.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	default:
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
}

// prettyJSON indents raw JSON; it returns the input when it is not JSON.
func prettyJSON(raw []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}
