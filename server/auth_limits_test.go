package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

const limitsPolicy = `source: {type: embedded}
clusters: [{name: eu-1, hosts: 100}]
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
    slo: {objective: 99}
    stages: [{name: canary}, {name: 100pct}]
  - name: search
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
    slo: {objective: 99}
    stages: [{name: canary}, {name: 100pct}]
integrations:
  flagger:
    targets:
      - {namespace: shop, name: checkout, service: checkout, stage: canary}
      - {namespace: find, name: search, service: search, stage: canary}
`

// Tokens limited to a team's services and patches.
const (
	teamToken  = "team-checkout-secret" // admin scope, checkout only, openssl- patches only
	teamSvcTok = "team-checkout-any"    // admin scope, checkout only, any patch
)

// TestTokenLimitsEveryRoute asks every endpoint that names a service or a
// patch with a token limited to service checkout and patches openssl-*:
// naming search, or another patch, is a 403 naming the limit; naming its
// own is let through.
func TestTokenLimitsEveryRoute(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite", t.TempDir()+"/patchgate.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	g := gateFunc(func(_ context.Context, req gate.Request) (gate.Decision, error) {
		return decisionFor(req, gate.Go), nil
	})
	decisions := &fakeDecisions{byID: map[string]store.Decision{
		"d-search":   {ID: "d-search", Service: "search", PatchID: "openssl-3", Stage: "canary", Verdict: "go", Body: []byte(`{"decision_id":"d-search","decision":"go","service":"search"}`)},
		"d-libc":     {ID: "d-libc", Service: "checkout", PatchID: "libc-2", Stage: "canary", Verdict: "go", Body: []byte(`{"decision_id":"d-libc","decision":"go","service":"checkout"}`)},
		"d-checkout": {ID: "d-checkout", Service: "checkout", PatchID: "openssl-3", Stage: "canary", Verdict: "go", Body: []byte(`{"decision_id":"d-checkout","decision":"go","service":"checkout"}`)},
	}}
	for _, d := range decisions.byID {
		decisions.list = append(decisions.list, d)
	}
	s, _ := newTestServer(t, g, withPolicy(t, limitsPolicy), func(c *Config) {
		c.Operator = st
		c.Decisions = decisions
		c.UI.Controls = st
		c.Now = func() time.Time { return now }
		c.Tokens = append(c.Tokens,
			config.Token{Name: "team-checkout", Scopes: []string{config.ScopeAdmin}, Value: teamToken,
				Services: []string{"checkout"}, PatchPrefixes: []string{"openssl-"}},
			config.Token{Name: "team-checkout-any", Scopes: []string{config.ScopeAdmin}, Value: teamSvcTok,
				Services: []string{"checkout"}})
	})
	h := s.Handler()
	ctx := t.Context()
	searchOverride, err := st.CreateOverride(ctx, store.Override{Service: "search", PatchID: "openssl-3", Verdict: "go", Reason: "x", Actor: "ops", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	searchFreeze, err := st.CreateFreeze(ctx, store.Freeze{Service: "search", StartsAt: now, EndsAt: now.Add(time.Hour), Reason: "x", Actor: "ops", CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	ownFreeze, err := st.CreateFreeze(ctx, store.Freeze{Service: "checkout", StartsAt: now, EndsAt: now.Add(time.Hour), Reason: "x", Actor: "ops", CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}

	gateBody := func(service, patch string) string {
		return `{"service":"` + service + `","patch_id":"` + patch + `","stage":"canary"}`
	}
	event := func(service string) string {
		return `{"type":"stage_started","time":"2026-11-26T09:59:00Z","service":"` + service + `","cluster":"eu-1","stage":"canary","hosts":1,"idempotency_key":"k-` + service + `"}`
	}
	override := func(service, patch string) string {
		return `{"service":"` + service + `","patch_id":"` + patch + `","verdict":"go","reason":"hotfix","expires_at":"2026-11-26T11:00:00Z"}`
	}
	freeze := func(service string) string {
		return `{"service":"` + service + `","starts_at":"2026-11-26T10:00:00Z","ends_at":"2026-11-26T12:00:00Z","reason":"sale"}`
	}
	flagger := func(namespace, name string) string {
		return `{"name":"` + name + `","namespace":"` + namespace + `","phase":"Progressing","checksum":"abc123","metadata":{"patch_id":"openssl-3"}}`
	}

	const (
		svc   = `token "team-checkout" is limited to services checkout: `
		patch = `token "team-checkout" is limited to patch ids starting with openssl-: `
	)
	for _, tc := range []struct {
		name, method, target, body string
		token                      string // teamToken unless set
		// field and message of the 403; "" expects no 403.
		field, message string
	}{
		{name: "gate other service", method: "POST", target: "/v1/gate", body: gateBody("search", "openssl-3"), field: "service", message: svc + `not "search"`},
		{name: "gate other patch", method: "POST", target: "/v1/gate", body: gateBody("checkout", "libc-2"), field: "patch_id", message: patch + `not "libc-2"`},
		{name: "gate own", method: "POST", target: "/v1/gate", body: gateBody("checkout", "openssl-3")},
		{name: "decisions of other service", method: "GET", target: "/v1/decisions?service=search", field: "service", message: svc + `not "search"`},
		{name: "decision of other service", method: "GET", target: "/v1/decisions/d-search", field: "service", message: svc + `not "search"`},
		{name: "decision of other patch", method: "GET", target: "/v1/decisions/d-libc", field: "patch_id", message: patch + `not "libc-2"`},
		{name: "own decision", method: "GET", target: "/v1/decisions/d-checkout"},
		{name: "event for other service", method: "POST", target: "/v1/patches/openssl-3/events", body: event("search"), field: "service", message: svc + `not "search"`},
		{name: "event for other patch", method: "POST", target: "/v1/patches/libc-2/events", body: event("checkout"), field: "patch_id", message: patch + `not "libc-2"`},
		{name: "event of no service", method: "POST", target: "/v1/patches/openssl-3/events", body: `{"type":"discovered","time":"2026-11-26T09:00:00Z","idempotency_key":"d1"}`, field: "service", message: svc + "name one of them"},
		{name: "own event", method: "POST", target: "/v1/patches/openssl-3/events", body: event("checkout")},
		{name: "events of other service", method: "GET", target: "/v1/patches/openssl-3/events?service=search", field: "service", message: svc + `not "search"`},
		{name: "events of other patch", method: "GET", target: "/v1/patches/libc-2/events", field: "patch_id", message: patch + `not "libc-2"`},
		{name: "override other service", method: "POST", target: "/v1/overrides", body: override("search", "openssl-3"), field: "service", message: svc + `not "search"`},
		{name: "override every patch", method: "POST", target: "/v1/overrides", body: override("checkout", ""), field: "patch_id", message: patch + "name a patch_id"},
		{name: "own override", method: "POST", target: "/v1/overrides", body: override("checkout", "openssl-3")},
		{name: "overrides of other service", method: "GET", target: "/v1/overrides?service=search", field: "service", message: svc + `not "search"`},
		{name: "delete other service's override", method: "DELETE", target: "/v1/overrides/" + searchOverride.ID + "?reason=x", field: "service", message: svc + `not "search"`},
		{name: "freeze other service", method: "POST", target: "/v1/freezes", body: freeze("search"), token: teamSvcTok, field: "service", message: `token "team-checkout-any" is limited to services checkout: not "search"`},
		{name: "freeze every service", method: "POST", target: "/v1/freezes", body: freeze(""), token: teamSvcTok, field: "service", message: "name one of them in service"},
		{name: "freeze with patch limits", method: "POST", target: "/v1/freezes", body: freeze("checkout"), field: "service", message: "a freeze stops every patch of its service"},
		{name: "own freeze", method: "POST", target: "/v1/freezes", body: freeze("checkout"), token: teamSvcTok},
		{name: "freezes of other service", method: "GET", target: "/v1/freezes?service=search", field: "service", message: svc + `not "search"`},
		{name: "lift other service's freeze", method: "DELETE", target: "/v1/freezes/" + searchFreeze.ID + "?reason=x", token: teamSvcTok, field: "service", message: `not "search"`},
		{name: "lift own freeze", method: "DELETE", target: "/v1/freezes/" + ownFreeze.ID + "?reason=x", token: teamSvcTok},
		{name: "spinnaker other service", method: "POST", target: "/v1/integrations/spinnaker", body: gateBody("search", "openssl-3"), field: "service", message: svc + `not "search"`},
		{name: "spinnaker status other patch", method: "GET", target: "/v1/integrations/spinnaker/status?service=checkout&patch_id=libc-2&stage=canary", field: "patch_id", message: patch + `not "libc-2"`},
		{name: "spinnaker own", method: "POST", target: "/v1/integrations/spinnaker", body: gateBody("checkout", "openssl-3")},
		{name: "flagger other service", method: "POST", target: "/v1/integrations/flagger/rollout", body: flagger("find", "search"), field: "service", message: svc + `not "search"`},
		{name: "flagger URL token other service", method: "POST", target: "/v1/integrations/flagger/rollout/t/" + teamToken, body: flagger("find", "search"), token: "-", field: "service", message: svc + `not "search"`},
		{name: "flagger own", method: "POST", target: "/v1/integrations/flagger/rollout", body: flagger("shop", "checkout")},
		{name: "coverage report", method: "GET", target: "/reports/coverage", message: "the coverage report covers the whole fleet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := tc.token
			switch token {
			case "":
				token = teamToken
			case "-":
				token = ""
			}
			rec := do(t, h, tc.method, tc.target, token, tc.body)
			if tc.message == "" {
				if rec.Code >= 300 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				return
			}
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", rec.Code, rec.Body)
			}
			e := errorOf(t, rec)
			if e.Field != tc.field || !strings.Contains(e.Message, tc.message) {
				t.Errorf("error %+v, want field %q and a message with %q", e, tc.field, tc.message)
			}
		})
	}

	// Lists and pages leave out what the token may not see.
	t.Run("lists", func(t *testing.T) {
		rec := do(t, h, "GET", "/v1/decisions", teamToken, "")
		var list struct{ Decisions []map[string]any }
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if len(list.Decisions) != 1 || list.Decisions[0]["service"] != "checkout" {
			t.Errorf("decisions listed: %v, want only d-checkout", list.Decisions)
		}
		for _, target := range []string{"/v1/overrides?all=true", "/v1/freezes?all=true", "/ui/overrides", "/ui/history", "/ui/"} {
			rec := do(t, h, "GET", target, teamSvcTok, "")
			if rec.Code != 200 {
				t.Fatalf("%s: status %d: %s", target, rec.Code, rec.Body)
			}
			if body := rec.Body.String(); strings.Contains(body, "search") || strings.Contains(body, searchOverride.ID) {
				t.Errorf("%s shows another team's service: %s", target, body)
			}
		}
		for _, target := range []string{"/ui/decisions/d-search", "/ui/history?service=search"} {
			if rec := do(t, h, "GET", target, teamToken, ""); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "limited to services checkout") {
				t.Errorf("%s: status %d: %s", target, rec.Code, rec.Body)
			}
		}
		// An unlimited token sees everything, as before.
		if rec := do(t, h, "GET", "/v1/decisions/d-search", adminToken, ""); rec.Code != 200 {
			t.Errorf("admin: status %d", rec.Code)
		}
	})
}
