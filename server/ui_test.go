package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/report"
)

// page sends a request with optional cookie and extra headers.
func page(t testing.TB, h http.Handler, method, target string, cookie *http.Cookie, form url.Values, headers map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// login signs in with token and returns the cookie set.
func login(t testing.TB, h http.Handler, token string) *http.Cookie {
	t.Helper()
	rec := page(t, h, http.MethodPost, "/ui/login", nil, url.Values{"token": {token}, "next": {"/ui/"}}, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login: status %d: %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies", len(cookies))
	}
	return cookies[0]
}

func parsePage(t testing.TB, rec *httptest.ResponseRecorder) *html.Node {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want HTML: %s", ct, rec.Body)
	}
	doc, err := html.Parse(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return out
}

func nodeAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func byIDNode(doc *html.Node, id string) *html.Node {
	ns := findAll(doc, func(n *html.Node) bool { return nodeAttr(n, "id") == id })
	if len(ns) == 0 {
		return nil
	}
	return ns[0]
}

func nodeText(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data + " ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestUISignIn(t *testing.T) {
	s := newUIServer(t)
	h := s.Handler()

	// Not signed in: every page sends the browser to the form, keeping the page.
	rec := page(t, h, http.MethodGet, "/ui/history?service=checkout", nil, nil, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/login?next="+url.QueryEscape("/ui/history?service=checkout") {
		t.Fatalf("unauthenticated page: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	form := parsePage(t, page(t, h, http.MethodGet, rec.Header().Get("Location"), nil, nil, nil))
	forms := findAll(form, func(n *html.Node) bool { return n.Data == "form" && nodeAttr(n, "action") == "/ui/login" })
	if len(forms) != 1 || nodeAttr(forms[0], "method") != "post" {
		t.Fatalf("the sign-in form must POST the token to /ui/login")
	}
	next := findAll(form, func(n *html.Node) bool { return nodeAttr(n, "name") == "next" })
	if len(next) != 1 || nodeAttr(next[0], "value") != "/ui/history?service=checkout" {
		t.Errorf("the form does not carry the page to return to")
	}

	tests := []struct {
		name     string
		token    string
		headers  map[string]string
		status   int
		message  string
		location string
	}{
		{name: "wrong token", token: "nope", status: http.StatusUnauthorized, message: "That token is not valid."},
		{name: "empty token", token: "", status: http.StatusUnauthorized, message: "That token is not valid."},
		{name: "token without gate scope", token: eventsToken, status: http.StatusForbidden, message: `lacks the "gate"`},
		{name: "from another site", token: ciToken, headers: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status: http.StatusForbidden, message: "another site"},
		{name: "gate token", token: ciToken, headers: map[string]string{"Origin": "http://example.com", "Sec-Fetch-Site": "same-origin"}, status: http.StatusSeeOther, location: "/ui/history?service=checkout"},
		{name: "admin token", token: adminToken, status: http.StatusSeeOther, location: "/ui/history?service=checkout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := page(t, h, http.MethodPost, "/ui/login", nil,
				url.Values{"token": {tt.token}, "next": {"/ui/history?service=checkout"}}, tt.headers)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.message != "" && !strings.Contains(rec.Body.String(), html.EscapeString(tt.message)) {
				t.Errorf("page lacks %q: %s", tt.message, rec.Body)
			}
			cookies := rec.Result().Cookies()
			if tt.location == "" {
				if len(cookies) != 0 {
					t.Errorf("a failed sign-in set cookies %v", cookies)
				}
				return
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("redirect to %q, want %q", got, tt.location)
			}
			if len(cookies) != 1 {
				t.Fatalf("cookies %v, want one", cookies)
			}
			ck := cookies[0]
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" {
				t.Errorf("cookie %+v, want HttpOnly, SameSite=Strict, not Secure over plain HTTP, Path=/", ck)
			}
			if strings.Contains(ck.Value, tt.token) || strings.Contains(rec.Header().Get("Location"), tt.token) {
				t.Errorf("the token is readable in the cookie or the redirect")
			}
		})
	}
}

func TestUICookieSecureOverTLS(t *testing.T) {
	s := newUIServer(t)
	tests := []struct {
		name   string
		change func(*http.Request)
		secure bool
	}{
		{"TLS", func(r *http.Request) { r.TLS = &tls.ConnectionState{} }, true},
		{"TLS-terminating proxy on loopback", func(r *http.Request) {
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("X-Forwarded-Proto", "https")
		}, true},
		{"forwarding header from an untrusted peer", func(r *http.Request) {
			r.RemoteAddr = "203.0.113.9:40000"
			r.Header.Set("X-Forwarded-Proto", "https")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(url.Values{"token": {ciToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			tt.change(req)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			if ck := rec.Result().Cookies(); len(ck) != 1 || ck[0].Secure != tt.secure {
				t.Errorf("cookies %v, want one with Secure=%v", ck, tt.secure)
			}
		})
	}
}

func TestUICookieOnlyForPages(t *testing.T) {
	s := newUIServer(t)
	h := s.Handler()
	ck := login(t, h, ciToken)
	tests := []struct {
		method, target, body string
		status               int
	}{
		{http.MethodGet, "/ui/", "", http.StatusOK},
		{http.MethodGet, "/ui/decisions/" + decKernelNoGo, "", http.StatusOK},
		{http.MethodGet, "/ui/history", "", http.StatusOK},
		{http.MethodGet, "/ui/overrides", "", http.StatusOK},
		{http.MethodGet, "/reports/coverage", "", http.StatusOK},
		// The JSON API takes bearer headers only: a cookie would let other
		// sites post in the user's name.
		{http.MethodPost, "/v1/gate", `{"service":"checkout","patch_id":"p","stage":"canary"}`, http.StatusUnauthorized},
		{http.MethodGet, "/v1/decisions", "", http.StatusUnauthorized},
		{http.MethodGet, "/v1/decisions/" + decKernelNoGo, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.AddCookie(ck)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %.300s", rec.Code, tt.status, rec.Body)
			}
		})
	}
}

func TestUIBearerHeaderAndAPIClients(t *testing.T) {
	s := newUIServer(t)
	h := s.Handler()
	// A bearer header works on pages too (curl, scripts).
	if rec := do(t, h, http.MethodGet, "/ui/history", ciToken, ""); rec.Code != http.StatusOK {
		t.Errorf("page with bearer header: %d", rec.Code)
	}
	// An API client without a token gets the 401 envelope, not a redirect.
	rec := do(t, h, http.MethodGet, "/reports/coverage?format=json", "", "")
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("report without token: %d", rec.Code)
	}
	errorOf(t, rec)
	// A browser asking for the report is sent to sign in.
	rec = page(t, h, http.MethodGet, "/reports/coverage", nil, nil, map[string]string{"Accept": "text/html,application/xhtml+xml"})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/ui/login?next=") {
		t.Errorf("browser without token: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	// A token without the gate scope gets a page saying so.
	rec = page(t, h, http.MethodGet, "/ui/", nil, nil, map[string]string{"Authorization": "Bearer " + eventsToken})
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "lacks scope") {
		t.Errorf("events token on a page: %d %s", rec.Code, rec.Body)
	}
}

func TestUIStaleCookie(t *testing.T) {
	s := newUIServer(t)
	rec := page(t, s.Handler(), http.MethodGet, "/ui/", &http.Cookie{Name: sessionCookie, Value: "bm90LWEtdG9rZW4.c2ln"}, nil, nil)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/ui/login") {
		t.Fatalf("stale cookie: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	if ck := rec.Result().Cookies(); len(ck) != 1 || ck[0].MaxAge >= 0 {
		t.Errorf("the stale cookie is not cleared: %v", ck)
	}
}

func TestUILogout(t *testing.T) {
	s := newUIServer(t)
	h := s.Handler()
	ck := login(t, h, ciToken)
	rec := page(t, h, http.MethodPost, "/ui/logout", ck, url.Values{}, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", rec.Code)
	}
	if cs := rec.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout does not clear the cookie: %v", cs)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "/ui/",
		"/ui/history?service=a":       "/ui/history?service=a",
		"/reports/coverage?period=7d": "/reports/coverage?period=7d",
		"//evil.example/":             "/ui/",
		`/\evil.example`:              "/ui/",
		"https://evil.example/ui/":    "/ui/",
		"ui/":                         "/ui/",
		"/ui/\r\nSet-Cookie: x=1":     "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUIRollouts(t *testing.T) {
	s := newUIServer(t)
	doc := parsePage(t, do(t, s.Handler(), http.MethodGet, "/ui/", ciToken, ""))
	rows := func(id string) []string {
		var out []string
		table := byIDNode(doc, id)
		if table == nil {
			return nil
		}
		for _, tr := range findAll(table, func(n *html.Node) bool { return n.Data == "tr" && nodeAttr(n, "class") == "rollout" }) {
			out = append(out, nodeText(tr))
		}
		return out
	}
	active, finished := rows("rollouts-active"), rows("rollouts-finished")
	// Newest first; the 10-day-old decision is not listed.
	want := []string{"payments kernel-6.1.119 canary (1 of 3) NO GO", "checkout openssl-3.0.15 25pct (2 of 3) WAIT"}
	if len(active) != len(want) {
		t.Fatalf("in progress: %q, want %d rows", active, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(active[i], w) {
			t.Errorf("in progress row %d: %q, want it to start %q", i, active[i], w)
		}
	}
	if !strings.Contains(active[1], " 2 decision") {
		t.Errorf("openssl row does not count its 2 decisions: %q", active[1])
	}
	if len(finished) != 2 || !strings.Contains(finished[0], "promoted through the last stage") || !strings.Contains(finished[1], "rolled back 20 min ago") {
		t.Errorf("finished: %q, want glibc promoted through the last stage, zlib rolled back", finished)
	}
	if strings.Contains(strings.Join(append(active, finished...), " "), "old-patch") {
		t.Error("a rollout older than the window is listed")
	}
}

func TestUIDecisionPage(t *testing.T) {
	s := newUIServer(t)
	rec := do(t, s.Handler(), http.MethodGet, "/ui/decisions/"+decKernelNoGo, ciToken, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	doc := parsePage(t, rec)
	if got := nodeText(byIDNode(doc, "verdict")); got != "NO GO" {
		t.Errorf("verdict %q", got)
	}
	failing := byIDNode(doc, "check-error_delta")
	if failing == nil || !strings.Contains(nodeAttr(failing, "class"), "check-fail") {
		t.Fatalf("the failing check is not marked")
	}
	if got := nodeText(failing); !strings.Contains(got, "2.302 percentage points") || !strings.Contains(got, "0.5 percentage points") ||
		!strings.Contains(got, "+2.30 pp, beyond the 0.5 pp margin") {
		t.Errorf("failing check row %q lacks observed, threshold and sentence", got)
	}
	if got := nodeText(byIDNode(doc, "check-min_traffic")); !strings.Contains(got, "21,548") || !strings.Contains(got, "1,000") {
		t.Errorf("min_traffic row %q", got)
	}
	var promql []string
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "pre" && nodeAttr(n, "class") == "promql" }) {
		promql = append(promql, nodeText(n))
	}
	if !strings.Contains(strings.Join(promql, "\n"), `(sum(rate(http_requests_total{code=~"5..",service="payments",track="canary"}[1m]))) * 60`) {
		t.Errorf("the PromQL is not shown as run: %q", promql)
	}
	if got := nodeText(byIDNode(doc, "window")); got != "Window" {
		t.Errorf("window heading %q", got)
	}
	body := rec.Body.String()
	for _, want := range []string{"look", "6 of 30", "the request&#39;s stage_started_at", "no_go_bound", "2.738"} {
		if !strings.Contains(body, want) {
			t.Errorf("decision page lacks %q", want)
		}
	}
	if byIDNode(doc, "override") != nil {
		t.Error("an override section without an override")
	}
}

func TestUIDecisionPageOverrideAndEscaping(t *testing.T) {
	s := newUIServer(t)
	rec := do(t, s.Handler(), http.MethodGet, "/ui/decisions/"+decGlibc100, ciToken, "")
	doc := parsePage(t, rec)
	if byIDNode(doc, "override") == nil {
		t.Fatal("the override is not shown")
	}
	body := rec.Body.String()
	for _, want := range []string{"alice", "CAB-1234 approved &lt;b&gt;now&lt;/b&gt;", "bypassing the checks that disagreed: burn_rate",
		"2026-11-26 14:00:00 UTC", "&lt;script&gt;alert(1)&lt;/script&gt;", "<dt>admission</dt>", "&#34;slot&#34;: 3"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "b" })) > 0 {
		t.Error("recorded text became markup")
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Cache-Control"} {
		if rec.Header().Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q must forbid scripts", csp)
	}
}

func TestUIDecisionNotFound(t *testing.T) {
	s := newUIServer(t)
	rec := do(t, s.Handler(), http.MethodGet, "/ui/decisions/nope<x>", ciToken, "")
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "No decision &#34;nope&lt;x&gt;&#34;") {
		t.Errorf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestUIHistory(t *testing.T) {
	s := newUIServer(t)
	tests := []struct {
		query string
		want  []string // decision ids, newest first
	}{
		{"service=checkout", []string{decOpenssl25, decOpensslCanary, decOld}},
		{"service=checkout&patch_id=openssl-3.0.15", []string{decOpenssl25, decOpensslCanary}},
		{"patch_id=kernel-6.1.119", []string{decKernelNoGo}},
		{"service=checkout&stage=25pct", []string{decOpenssl25}},
		{"service=nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			doc := parsePage(t, do(t, s.Handler(), http.MethodGet, "/ui/history?"+tt.query, ciToken, ""))
			var got []string
			for _, a := range findAll(doc, func(n *html.Node) bool {
				return n.Data == "a" && strings.HasPrefix(nodeAttr(n, "href"), "/ui/decisions/")
			}) {
				got = append(got, strings.TrimPrefix(nodeAttr(a, "href"), "/ui/decisions/"))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("decisions %v, want %v", got, tt.want)
			}
			if tt.want == nil && byIDNode(doc, "history-empty") == nil {
				t.Error("an empty history does not say so")
			}
		})
	}
}

func TestUIOverrides(t *testing.T) {
	s := newUIServer(t, func(c *Config) {
		c.Policy.Controls.Freezes = []config.Freeze{{From: config.TimestampOf("2026-12-24T00:00:00Z"), To: config.TimestampOf("2026-12-27T00:00:00Z"), Reason: "holidays"}}
	})
	doc := parsePage(t, do(t, s.Handler(), http.MethodGet, "/ui/overrides", ciToken, ""))
	rows := findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && nodeAttr(n, "class") == "override" })
	if len(rows) != 1 || !strings.Contains(nodeText(rows[0]), "search glibc-2.36-9 every stage GO CAB-1234 approved alice") ||
		!strings.Contains(nodeText(rows[0]), "(in 2.0 h)") {
		t.Errorf("override rows %d: %q", len(rows), nodeText(rows[0]))
	}
	if byIDNode(doc, "freezes-empty") == nil {
		t.Error("no freeze and the page does not say so")
	}
	if got := nodeText(byIDNode(doc, "configured")); !strings.Contains(got, "every service change freeze 2026-12-24T00:00:00Z to 2026-12-27T00:00:00Z holidays") {
		t.Errorf("configured controls %q", got)
	}

	// Without the store's controls the page says it cannot list them.
	s = newUIServer(t, func(c *Config) { c.UI.Controls = nil })
	doc = parsePage(t, do(t, s.Handler(), http.MethodGet, "/ui/overrides", ciToken, ""))
	if byIDNode(doc, "overrides-unavailable") == nil {
		t.Error("the page does not say overrides are unavailable")
	}
}

func TestUIWithoutAuth(t *testing.T) {
	s := newUIServer(t, func(c *Config) { c.Tokens, c.InsecureNoAuth = nil, true })
	rec := do(t, s.Handler(), http.MethodGet, "/ui/", "", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "/ui/logout") {
		t.Error("a log-out button without authentication")
	}
	if rec := do(t, s.Handler(), http.MethodGet, "/ui/login", "", ""); rec.Code != http.StatusSeeOther {
		t.Errorf("sign-in form without authentication: %d", rec.Code)
	}
}

func TestCoverageReportEndpoint(t *testing.T) {
	s := newUIServer(t)
	tests := []struct {
		query       string
		status      int
		contentType string
		field       string
		period      time.Duration
	}{
		{"", http.StatusOK, "text/html; charset=utf-8", "", report.DefaultPeriod},
		{"?format=csv&period=7d", http.StatusOK, "text/csv; charset=utf-8", "", 7 * 24 * time.Hour},
		{"?format=json&period=12w", http.StatusOK, "application/json", "", 84 * 24 * time.Hour},
		{"?format=pdf", http.StatusUnprocessableEntity, "", "format", 0},
		{"?period=soon", http.StatusUnprocessableEntity, "", "period", 0},
		{"?period=5m", http.StatusUnprocessableEntity, "", "period", 0},
		{"?period=2y", http.StatusUnprocessableEntity, "", "period", 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			s.periods = nil
			rec := do(t, s.Handler(), http.MethodGet, "/reports/coverage"+tt.query, ciToken, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %.300s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != http.StatusOK {
				if e := errorOf(t, rec); e.Field != tt.field {
					t.Errorf("field %q, want %q", e.Field, tt.field)
				}
				if len(s.periods) != 0 {
					t.Error("a bad request built the report")
				}
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if len(s.periods) != 1 || s.periods[0] != tt.period {
				t.Errorf("report built for %v, want %v", s.periods, tt.period)
			}
			disp := rec.Header().Get("Content-Disposition")
			if (tt.contentType != "text/html; charset=utf-8") != strings.HasPrefix(disp, "attachment; filename=\"patchgate-coverage-2026-11-30.") {
				t.Errorf("Content-Disposition %q", disp)
			}
		})
	}
}

func TestCoverageReportFailures(t *testing.T) {
	s := newUIServer(t, func(c *Config) { c.UI.Report = nil })
	rec := do(t, s.Handler(), http.MethodGet, "/reports/coverage", ciToken, "")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(errorOf(t, rec).Message, "no report source") {
		t.Errorf("without a report source: %d %s", rec.Code, rec.Body)
	}
	s = newUIServer(t, func(c *Config) {
		c.UI.Report = func(context.Context, time.Duration) (*report.Report, error) {
			return nil, errors.New("query failed: dial tcp 10.0.0.7:9090: connection refused")
		}
	})
	rec = do(t, s.Handler(), http.MethodGet, "/reports/coverage", ciToken, "")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "10.0.0.7") {
		t.Errorf("failing report: %d %s", rec.Code, rec.Body)
	}
}

func TestUIUnknownPage(t *testing.T) {
	s := newUIServer(t)
	rec := do(t, s.Handler(), http.MethodGet, "/ui/nope", ciToken, "")
	if rec.Code != http.StatusNotFound || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("unknown page: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}
