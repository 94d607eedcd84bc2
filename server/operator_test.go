package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

const overrideToken = "override-secret"

const operatorPolicy = `source: {type: embedded}
clusters: [{name: eu-1, hosts: 100}]
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
    slo: {objective: 99}
    stages: [{name: canary}, {name: 100pct}]
`

// controlsGate is a fake gate that counts ControlsChanged calls.
type controlsGate struct {
	gateFunc
	changed atomic.Int32
}

func (g *controlsGate) ControlsChanged() { g.changed.Add(1) }

type operatorFixture struct {
	h     http.Handler
	store store.Store
	gate  *controlsGate
	now   time.Time
}

// newOperatorServer is a server over a real SQLite store, with the test
// tokens and one with the override scope (sre-alice).
func newOperatorServer(t *testing.T) *operatorFixture {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite", t.TempDir()+"/patchgate.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &operatorFixture{store: st, gate: &controlsGate{gateFunc: knownServiceGate(gate.Go)},
		now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	s, _ := newTestServer(t, f.gate, withPolicy(t, operatorPolicy), func(c *Config) {
		c.Operator = st
		c.Now = func() time.Time { return f.now }
		c.Tokens = append(c.Tokens, config.Token{Name: "sre-alice", Scopes: []string{config.ScopeOverride}, Value: overrideToken})
	})
	f.h = s.Handler()
	return f
}

func decodeInto(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

func TestPostEventValidation(t *testing.T) {
	f := newOperatorServer(t)
	for _, tc := range []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"no key", "/v1/patches/p1/events", `{"type":"discovered"}`, 422, "idempotency_key"},
		{"no type", "/v1/patches/p1/events", `{"idempotency_key":"k"}`, 422, "type"},
		{"unknown type", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"exploded"}`, 422, "type"},
		{"bad time", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","time":"yesterday"}`, 422, "time"},
		{"time in the future", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","time":"2026-11-26T11:00:00Z"}`, 422, "time"},
		{"stage_started without service", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"stage_started","stage":"canary"}`, 422, "service"},
		{"deployed without service", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"deployed"}`, 422, "service"},
		{"incident without service", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"incident"}`, 422, "service"},
		{"stage_started without stage", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"stage_started","service":"checkout"}`, 422, "stage"},
		{"unknown service is 404", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"deployed","service":"nope"}`, 404, "service"},
		{"unknown stage is 404", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"promoted","service":"checkout","stage":"50pct"}`, 404, "stage"},
		{"unknown cluster", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"deployed","service":"checkout","cluster":"mars"}`, 422, "cluster"},
		{"bad severity", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","severity":"urgent"}`, 422, "severity"},
		{"negative hosts", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"deployed","service":"checkout","hosts":-1}`, 422, "hosts"},
		{"hosts not a number", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"deployed","service":"checkout","hosts":"ten"}`, 400, "hosts"},
		{"attempt an object", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","attempt":{}}`, 422, "attempt"},
		{"detail and reason", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","detail":"a","reason":"b"}`, 422, "reason"},
		{"detail too long", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","detail":"` + strings.Repeat("x", 5000) + `"}`, 422, "detail"},
		{"bad label key", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","labels":{"a-b":"c"}}`, 422, "labels"},
		{"too many labels", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","labels":{` + manyLabels(17) + `}}`, 422, "labels"},
		{"unknown field", "/v1/patches/p1/events", `{"idempotency_key":"k","type":"discovered","colour":"red"}`, 400, "colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, f.h, http.MethodPost, tc.path, eventsToken, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if e := errorOf(t, rec); e.Field != tc.field {
				t.Errorf("field %q (%s), want %q", e.Field, e.Message, tc.field)
			}
		})
	}
	list, err := f.store.ListEvents(t.Context(), store.EventFilter{})
	if err != nil || len(list) != 0 {
		t.Errorf("bad events stored: %v, %v", list, err)
	}
}

func manyLabels(n int) string {
	var parts []string
	for i := range n {
		parts = append(parts, `"l`+string(rune('a'+i))+`":"v"`)
	}
	return strings.Join(parts, ",")
}

func TestPostEventIdempotency(t *testing.T) {
	f := newOperatorServer(t)
	body := `{"type":"stage_started","service":"checkout","stage":"canary","cluster":"eu-1","hosts":5,"attempt":2,
		"severity":"critical","reason":"canary of 5 hosts","labels":{"pipeline":"42"},"time":"2026-11-26T09:58:00Z"}`
	post := func(token, key string) (int, eventAnswer) {
		t.Helper()
		req := strings.NewReader(body)
		r, _ := http.NewRequest(http.MethodPost, "/v1/patches/openssl-3.0.15/events", req)
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set(IdempotencyHeader, key)
		rec := httptestRecorder(f.h, r)
		var a eventAnswer
		decodeInto(t, rec.Body.Bytes(), &a)
		return rec.Code, a
	}
	code, first := post(eventsToken, "deploy-42-canary")
	if code != http.StatusCreated || first.Duplicate {
		t.Fatalf("first POST: %d duplicate %v, want 201 and false", code, first.Duplicate)
	}
	want := EventView{PatchID: "openssl-3.0.15", Type: "stage_started", Service: "checkout", Stage: "canary", Cluster: "eu-1",
		Hosts: 5, Attempt: "2", Severity: "critical", Detail: "canary of 5 hosts", Labels: map[string]string{"pipeline": "42"},
		IdempotencyKey: "deploy-42-canary", Actor: "flagger-events", Time: time.Date(2026, 11, 26, 9, 58, 0, 0, time.UTC), ReceivedAt: f.now}
	got := first.EventView
	want.Seq, want.ID = got.Seq, got.ID
	if got.ID == "" || !sameEvent(got, want) {
		t.Errorf("stored\n%+v\nwant\n%+v", got, want)
	}
	// The retry, by an admin token, is the same event.
	f.now = f.now.Add(time.Minute)
	code, second := post(adminToken, "deploy-42-canary")
	if code != http.StatusOK || !second.Duplicate || !sameEvent(second.EventView, first.EventView) {
		t.Errorf("second POST: %d %+v, want 200 with the first event and duplicate true", code, second)
	}
	// Without the events scope: 403.
	if code, _ := post(ciToken, "other"); code != http.StatusForbidden {
		t.Errorf("POST with a gate token: %d, want 403", code)
	}
	rec := do(t, f.h, http.MethodGet, "/v1/patches/openssl-3.0.15/events?type=stage_started", eventsToken, "")
	var list struct{ Events []EventView }
	decodeInto(t, rec.Body.Bytes(), &list)
	if rec.Code != http.StatusOK || len(list.Events) != 1 || !sameEvent(list.Events[0], first.EventView) {
		t.Errorf("GET events: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, f.h, http.MethodGet, "/v1/patches/openssl-3.0.15/events?since=soon", eventsToken, "")
	if rec.Code != http.StatusUnprocessableEntity || errorOf(t, rec).Field != "since" {
		t.Errorf("GET with a bad since: %d %s", rec.Code, rec.Body)
	}
	// The key may come in the body too, and must agree with the header.
	rec = do(t, f.h, http.MethodPost, "/v1/patches/p2/events", eventsToken, `{"type":"discovered","idempotency_key":"k2"}`)
	if rec.Code != http.StatusCreated {
		t.Errorf("key in the body: %d %s", rec.Code, rec.Body)
	}
}

func sameEvent(a, b EventView) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestOverridesAPI(t *testing.T) {
	f := newOperatorServer(t)
	body := `{"service":"checkout","patch_id":"openssl-3.0.15","verdict":"go","reason":"hotfix for INC-7","ttl":"2h"}`

	// Without the override scope: 403, and nothing changes.
	for _, token := range []string{ciToken, eventsToken} {
		rec := do(t, f.h, http.MethodPost, "/v1/overrides", token, body)
		if rec.Code != http.StatusForbidden || errorOf(t, rec).Field != "scope" {
			t.Errorf("POST with %s: %d %s, want 403", token, rec.Code, rec.Body)
		}
	}
	if os, _ := f.store.ListOverrides(t.Context(), store.ControlFilter{}); len(os) != 0 || f.gate.changed.Load() != 0 {
		t.Fatalf("an unauthorised POST stored %v and told the gate %d time(s)", os, f.gate.changed.Load())
	}

	rec := do(t, f.h, http.MethodPost, "/v1/overrides", overrideToken, body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	var o OverrideView
	decodeInto(t, rec.Body.Bytes(), &o)
	if o.ID == "" || o.Actor != "sre-alice" || !o.ExpiresAt.Equal(f.now.Add(2*time.Hour)) || !o.InForce || o.Verdict != "go" {
		t.Errorf("created %+v", o)
	}
	if f.gate.changed.Load() != 1 {
		t.Errorf("the gate was told %d time(s) of the new override, want 1", f.gate.changed.Load())
	}
	// An admin may too; the list shows both while in force.
	rec = do(t, f.h, http.MethodPost, "/v1/overrides", adminToken, `{"service":"checkout","verdict":"no_go","reason":"hold","expires_at":"2026-11-26T10:30:00Z"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("admin POST: %d %s", rec.Code, rec.Body)
	}
	list := func(query string) []OverrideView {
		t.Helper()
		rec := do(t, f.h, http.MethodGet, "/v1/overrides"+query, overrideToken, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", query, rec.Code, rec.Body)
		}
		var l struct{ Overrides []OverrideView }
		decodeInto(t, rec.Body.Bytes(), &l)
		return l.Overrides
	}
	if got := list(""); len(got) != 2 {
		t.Errorf("in force: %d overrides, want 2", len(got))
	}
	f.now = f.now.Add(45 * time.Minute) // the admin's expired
	if got := list(""); len(got) != 1 || got[0].ID != o.ID {
		t.Errorf("in force after one expired: %+v", got)
	}

	// Delete: recorded with who and why, kept in ?all=true.
	rec = do(t, f.h, http.MethodDelete, "/v1/overrides/"+o.ID+"?reason=fixed", eventsToken, "")
	if rec.Code != http.StatusForbidden {
		t.Errorf("DELETE without the scope: %d", rec.Code)
	}
	rec = do(t, f.h, http.MethodDelete, "/v1/overrides/"+o.ID+"?reason=fixed", overrideToken, "")
	var del OverrideView
	decodeInto(t, rec.Body.Bytes(), &del)
	if rec.Code != http.StatusOK || del.DeletedBy != "sre-alice" || del.DeleteReason != "fixed" || del.DeletedAt == nil || !del.DeletedAt.Equal(f.now) || del.InForce {
		t.Errorf("DELETE: %d %+v", rec.Code, del)
	}
	if got := list(""); len(got) != 0 {
		t.Errorf("in force after delete: %+v", got)
	}
	if got := list("?all=true"); len(got) != 2 {
		t.Errorf("all: %d overrides, want 2 (expired and deleted ones kept)", len(got))
	}
	rec = do(t, f.h, http.MethodDelete, "/v1/overrides/nope", overrideToken, "")
	if rec.Code != http.StatusNotFound || errorOf(t, rec).Field != "id" {
		t.Errorf("DELETE unknown: %d %s", rec.Code, rec.Body)
	}
}

func TestOverrideValidation(t *testing.T) {
	f := newOperatorServer(t)
	for _, tc := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"no service", `{"verdict":"go","reason":"r","ttl":"1h"}`, 422, "service"},
		{"unknown service", `{"service":"nope","verdict":"go","reason":"r","ttl":"1h"}`, 404, "service"},
		{"unknown stage", `{"service":"checkout","stage":"50pct","verdict":"go","reason":"r","ttl":"1h"}`, 404, "stage"},
		{"bad verdict", `{"service":"checkout","verdict":"wait","reason":"r","ttl":"1h"}`, 422, "verdict"},
		{"no reason", `{"service":"checkout","verdict":"go","ttl":"1h"}`, 422, "reason"},
		{"blank reason", `{"service":"checkout","verdict":"go","reason":"  ","ttl":"1h"}`, 422, "reason"},
		{"no expiry", `{"service":"checkout","verdict":"go","reason":"r"}`, 422, "expires_at"},
		{"both expiries", `{"service":"checkout","verdict":"go","reason":"r","ttl":"1h","expires_at":"2026-11-26T11:00:00Z"}`, 422, "ttl"},
		{"ttl too long", `{"service":"checkout","verdict":"go","reason":"r","ttl":"8d"}`, 422, "ttl"},
		{"bad ttl", `{"service":"checkout","verdict":"go","reason":"r","ttl":"a while"}`, 422, "ttl"},
		{"expiry in the past", `{"service":"checkout","verdict":"go","reason":"r","expires_at":"2026-11-26T09:00:00Z"}`, 422, "expires_at"},
		{"expiry too far", `{"service":"checkout","verdict":"go","reason":"r","expires_at":"2026-12-26T09:00:00Z"}`, 422, "expires_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, f.h, http.MethodPost, "/v1/overrides", overrideToken, tc.body)
			if rec.Code != tc.status || errorOf(t, rec).Field != tc.field {
				t.Errorf("%d %s, want %d naming %s", rec.Code, rec.Body, tc.status, tc.field)
			}
		})
	}
}

func TestFreezesAPI(t *testing.T) {
	f := newOperatorServer(t)
	body := `{"reason":"datacenter move","duration":"12h"}`
	for _, token := range []string{overrideToken, eventsToken, ciToken} {
		if rec := do(t, f.h, http.MethodPost, "/v1/freezes", token, body); rec.Code != http.StatusForbidden {
			t.Errorf("POST with a non-admin token: %d, want 403", rec.Code)
		}
	}
	rec := do(t, f.h, http.MethodPost, "/v1/freezes", adminToken, body)
	var fr FreezeView
	decodeInto(t, rec.Body.Bytes(), &fr)
	if rec.Code != http.StatusCreated || fr.Actor != "ops" || !fr.StartsAt.Equal(f.now) || !fr.EndsAt.Equal(f.now.Add(12*time.Hour)) || !fr.InForce {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"duration":"1h"}`, "reason"},
		{`{"reason":"r"}`, "ends_at"},
		{`{"reason":"r","service":"nope","duration":"1h"}`, "service"},
		{`{"reason":"r","duration":"1h","ends_at":"2026-11-27T00:00:00Z"}`, "duration"},
		{`{"reason":"r","starts_at":"2026-11-27T00:00:00Z","ends_at":"2026-11-26T23:00:00Z"}`, "ends_at"},
		{`{"reason":"r","duration":"100d"}`, "ends_at"},
	} {
		rec := do(t, f.h, http.MethodPost, "/v1/freezes", adminToken, tc.body)
		if rec.Code/100 != 4 || errorOf(t, rec).Field != tc.field {
			t.Errorf("%s: %d %s, want an error naming %s", tc.body, rec.Code, rec.Body, tc.field)
		}
	}
	rec = do(t, f.h, http.MethodDelete, "/v1/freezes/"+fr.ID+"?reason=moved+early", adminToken, "")
	var del FreezeView
	decodeInto(t, rec.Body.Bytes(), &del)
	if rec.Code != http.StatusOK || del.DeletedBy != "ops" || del.DeleteReason != "moved early" || del.InForce {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, f.h, http.MethodGet, "/v1/freezes?all=true", adminToken, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"deleted_by":"ops"`) {
		t.Errorf("GET all: %d %s", rec.Code, rec.Body)
	}
	if f.gate.changed.Load() != 2 {
		t.Errorf("the gate was told %d time(s), want 2 (create, delete)", f.gate.changed.Load())
	}
}

func httptestRecorder(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// from and to, the names config files used for a freeze's period, are
// accepted as deprecated aliases of starts_at and ends_at, with a Warning
// header; both names for one field is an error naming the alias.
func TestFreezeDeprecatedAliases(t *testing.T) {
	f := newOperatorServer(t)
	rec := do(t, f.h, http.MethodPost, "/v1/freezes", adminToken,
		`{"reason":"year end","from":"2026-11-26T12:00:00Z","to":"2026-11-27T00:00:00Z"}`)
	var fr FreezeView
	decodeInto(t, rec.Body.Bytes(), &fr)
	if rec.Code != http.StatusCreated || !fr.StartsAt.Equal(f.now.Add(2*time.Hour)) || !fr.EndsAt.Equal(f.now.Add(14*time.Hour)) {
		t.Fatalf("POST with from and to: %d %s", rec.Code, rec.Body)
	}
	want := []string{`299 patchgate "from is deprecated: use starts_at"`, `299 patchgate "to is deprecated: use ends_at"`}
	if got := rec.Header().Values("Warning"); !slices.Equal(got, want) {
		t.Errorf("Warning headers %q, want %q", got, want)
	}
	rec = do(t, f.h, http.MethodPost, "/v1/freezes", adminToken,
		`{"reason":"r","starts_at":"2026-11-26T12:00:00Z","from":"2026-11-26T12:00:00Z","duration":"1h"}`)
	if rec.Code != http.StatusUnprocessableEntity || errorOf(t, rec).Field != "from" {
		t.Errorf("starts_at and from: %d %s, want 422 naming from", rec.Code, rec.Body)
	}
	rec = do(t, f.h, http.MethodPost, "/v1/freezes", adminToken, `{"reason":"r","duration":"1h"}`)
	if rec.Code != http.StatusCreated || len(rec.Header().Values("Warning")) != 0 {
		t.Errorf("current names: %d, Warning %q", rec.Code, rec.Header().Values("Warning"))
	}
}
