package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// oncallToken may read the pages and override, not freeze.
const oncallToken = "oncall-secret"

func withOncall(c *Config) {
	c.Tokens = append(testTokens(), config.Token{Name: "oncall", Scopes: []string{config.ScopeGate, config.ScopeOverride}, Value: oncallToken})
}

// formOf returns the form with id and the value of its CSRF field.
func formOf(t *testing.T, doc *html.Node, id string) (action, csrf string) {
	t.Helper()
	f := byIDNode(doc, id)
	if f == nil {
		return "", ""
	}
	for _, in := range findAll(f, func(n *html.Node) bool { return n.Data == "input" && nodeAttr(n, "name") == csrfField }) {
		csrf = nodeAttr(in, "value")
	}
	return nodeAttr(f, "action"), csrf
}

func TestUIApproveAndStopFromTheDecisionPage(t *testing.T) {
	s := newUIServer(t, withOncall)
	h := s.Handler()
	ck := login(t, h, oncallToken)
	doc := parsePage(t, page(t, h, http.MethodGet, "/ui/decisions/"+decKernelNoGo, ck, nil, nil))
	action, csrf := formOf(t, doc, "override-form")
	if action != "/ui/actions/overrides" || csrf == "" {
		t.Fatalf("no override form with a CSRF token for a session with the override scope: %q %q", action, csrf)
	}
	form := url.Values{csrfField: {csrf}, "service": {"payments"}, "patch_id": {"kernel-6.1.119"}, "stage": {"canary"},
		"verdict": {"go"}, "reason": {"CAB-77 accepted the risk"}, "ttl": {"4h"}, "next": {"/ui/overrides"}}
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}

	refused := []struct {
		name    string
		cookie  *http.Cookie
		change  func(url.Values)
		headers map[string]string
		status  int
		message string
	}{
		{"without the CSRF token", ck, func(v url.Values) { v.Del(csrfField) }, same, http.StatusForbidden, "security token"},
		{"with another session's token", ck, func(v url.Values) {
			other := parsePage(t, page(t, h, http.MethodGet, "/ui/decisions/"+decKernelNoGo, login(t, h, oncallToken), nil, nil))
			_, c := formOf(t, other, "override-form")
			v.Set(csrfField, c)
		}, same, http.StatusForbidden, "security token"},
		{"from another site", ck, func(url.Values) {}, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, http.StatusForbidden, "another site"},
		{"without the reason", ck, func(v url.Values) { v.Del("reason") }, same, http.StatusUnprocessableEntity, "reason is required"},
		{"for too long", ck, func(v url.Values) { v.Set("ttl", "30d") }, same, http.StatusUnprocessableEntity, "ttl must be at most 1w, got 30d"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range form {
				v[k] = append([]string(nil), vs...)
			}
			tt.change(v)
			rec := page(t, h, http.MethodPost, "/ui/actions/overrides", tt.cookie, v, tt.headers)
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.message) {
				t.Errorf("status %d, want %d with %q: %s", rec.Code, tt.status, tt.message, nodeText(parsePage(t, rec)))
			}
		})
	}
	// A session without the override scope gets no form and is refused.
	ci := login(t, h, ciToken)
	if a, _ := formOf(t, parsePage(t, page(t, h, http.MethodGet, "/ui/decisions/"+decKernelNoGo, ci, nil, nil)), "override-form"); a != "" {
		t.Error("a session without the override scope is offered the form")
	}
	if rec := page(t, h, http.MethodPost, "/ui/actions/overrides", ci, form, same); rec.Code != http.StatusForbidden {
		t.Errorf("ci session posting an override: %d", rec.Code)
	}
	if os, _ := s.store.ListOverrides(context.Background(), store.ControlFilter{Service: "payments", InForceAt: uiNow}); len(os) != 0 {
		t.Fatalf("refused forms stored overrides: %+v", os)
	}

	// Approving stores the API's override in the person's name.
	rec := page(t, h, http.MethodPost, "/ui/actions/overrides", ck, form, same)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/ui/overrides" {
		t.Fatalf("approve: %d to %q: %.400s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	os, err := s.store.ListOverrides(context.Background(), store.ControlFilter{Service: "payments", InForceAt: uiNow})
	if err != nil || len(os) != 1 {
		t.Fatalf("overrides %+v, %v", os, err)
	}
	o := os[0]
	if o.Verdict != "go" || o.Actor != "oncall" || o.PatchID != "kernel-6.1.119" || o.Stage != "canary" ||
		o.Reason != "CAB-77 accepted the risk" || !o.ExpiresAt.Equal(uiNow.Add(4*time.Hour)) {
		t.Errorf("stored override %+v", o)
	}
	// Stopping is the same form's other button.
	form.Set("verdict", "no_go")
	form.Set("stage", "25pct")
	if rec := page(t, h, http.MethodPost, "/ui/actions/overrides", ck, form, same); rec.Code != http.StatusSeeOther {
		t.Fatalf("stop: %d", rec.Code)
	}
	// The overrides page lists both and removes one.
	doc = parsePage(t, page(t, h, http.MethodGet, "/ui/overrides", ck, nil, nil))
	if got := nodeText(byIDNode(doc, "overrides")); !strings.Contains(got, "CAB-77 accepted the risk") || !strings.Contains(got, "NO GO") {
		t.Errorf("overrides page: %q", got)
	}
	del := "/ui/actions/overrides/" + o.ID + "/delete"
	if rec := page(t, h, http.MethodPost, del, ck, url.Values{csrfField: {csrf}, "reason": {"rolled back instead"}}, same); rec.Code != http.StatusSeeOther {
		t.Fatalf("remove: %d %.300s", rec.Code, rec.Body)
	}
	all, _ := s.store.ListOverrides(context.Background(), store.ControlFilter{Service: "payments"})
	for _, x := range all {
		if x.ID == o.ID && (x.DeletedBy != "oncall" || x.DeleteReason != "rolled back instead") {
			t.Errorf("removed override %+v", x)
		}
	}
}

func TestUIFreezeFromTheOverridesPage(t *testing.T) {
	s := newUIServer(t, withOncall)
	h := s.Handler()
	same := map[string]string{"Sec-Fetch-Site": "same-origin"}
	// Freezes need admin, as in the API: the on-call session gets no form.
	oncall := login(t, h, oncallToken)
	if a, _ := formOf(t, parsePage(t, page(t, h, http.MethodGet, "/ui/overrides", oncall, nil, nil)), "freeze-form"); a != "" {
		t.Error("a session without admin is offered the freeze form")
	}
	ck := login(t, h, adminToken)
	action, csrf := formOf(t, parsePage(t, page(t, h, http.MethodGet, "/ui/overrides", ck, nil, nil)), "freeze-form")
	if action != "/ui/actions/freezes" || csrf == "" {
		t.Fatalf("freeze form %q %q", action, csrf)
	}
	form := url.Values{csrfField: {csrf}, "service": {"checkout"}, "duration": {"1d"}, "reason": {"INC-42 payments incident"}}
	if rec := page(t, h, http.MethodPost, action, ck, form, same); rec.Code != http.StatusSeeOther {
		t.Fatalf("start freeze: %d %.300s", rec.Code, rec.Body)
	}
	fs, err := s.store.ListFreezes(context.Background(), store.ControlFilter{InForceAt: uiNow})
	if err != nil || len(fs) != 1 || fs[0].Service != "checkout" || fs[0].Actor != "ops" || !fs[0].EndsAt.Equal(uiNow.Add(24*time.Hour)) {
		t.Fatalf("freezes %+v, %v", fs, err)
	}
	doc := parsePage(t, page(t, h, http.MethodGet, "/ui/overrides", ck, nil, nil))
	endForm := findAll(doc, func(n *html.Node) bool {
		return n.Data == "form" && nodeAttr(n, "action") == "/ui/actions/freezes/"+fs[0].ID+"/end"
	})
	if len(endForm) != 1 {
		t.Fatal("no form ends the freeze")
	}
	if rec := page(t, h, http.MethodPost, "/ui/actions/freezes/"+fs[0].ID+"/end", ck, url.Values{csrfField: {s.sessionsCSRF(t, ck)}, "reason": {"incident over"}}, same); rec.Code != http.StatusSeeOther {
		t.Fatalf("end freeze: %d %.300s", rec.Code, rec.Body)
	}
	if fs, _ := s.store.ListFreezes(context.Background(), store.ControlFilter{InForceAt: uiNow}); len(fs) != 0 {
		t.Errorf("the freeze still holds: %+v", fs)
	}
	// The on-call session cannot post a freeze either.
	_, oc := formOf(t, parsePage(t, page(t, h, http.MethodGet, "/ui/decisions/"+decKernelNoGo, oncall, nil, nil)), "override-form")
	form.Set(csrfField, oc)
	if rec := page(t, h, http.MethodPost, action, oncall, form, same); rec.Code != http.StatusForbidden {
		t.Errorf("freeze without admin: %d", rec.Code)
	}
}

// sessionsCSRF is the CSRF token of the session in ck.
func (s *uiServer) sessionsCSRF(t *testing.T, ck *http.Cookie) string {
	t.Helper()
	sess, err := s.sessions.read(ck.Value, uiNow)
	if err != nil {
		t.Fatal(err)
	}
	return s.sessions.csrf(sess)
}
