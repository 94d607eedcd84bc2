package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/store"
)

// replica is one server over the store file at path, as a second replica
// of the same deployment would be.
func replica(t *testing.T, path string, now time.Time) (http.Handler, store.Store) {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, _ := newTestServer(t, knownServiceGate(gate.Go), withPolicy(t, operatorPolicy), func(c *Config) {
		c.Operator = st
		c.Now = func() time.Time { return now }
	})
	return s.Handler(), st
}

// Patch ids with characters a URL path escapes are one id however the
// client escapes them, and patchgate's own client agrees with the server.
func TestEventPatchIDsDecodedOnce(t *testing.T) {
	h, st := replica(t, t.TempDir()+"/patchgate.db", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	ts := httptest.NewServer(h)
	defer ts.Close()
	client := &Client{URL: ts.URL, Token: eventsToken}
	for _, tc := range []struct {
		id string
		// other spellings of the same id in a request path
		paths []string
	}{
		{"a/b", []string{"a%2Fb", "a%2fb"}},
		{"a@b", []string{"a@b", "a%40b"}},
		{"a%b", []string{"a%25b"}},
		{"a b", []string{"a%20b"}},
		{"kernel-6.1.119+deb12", []string{"kernel-6.1.119+deb12", "kernel-6.1.119%2Bdeb12"}},
		{"ü/ß", []string{"%C3%BC%2F%C3%9F"}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			v, err := client.Event(t.Context(), tc.id, EventInput{Type: "discovered", IdempotencyKey: "k-" + tc.id})
			if err != nil {
				t.Fatal(err)
			}
			if v.PatchID != tc.id {
				t.Errorf("client posted %q, server stored %q", tc.id, v.PatchID)
			}
			es, err := st.ListEvents(t.Context(), store.EventFilter{PatchID: tc.id})
			if err != nil || len(es) != 1 {
				t.Fatalf("events stored under %q: %v %v", tc.id, es, err)
			}
			for _, p := range tc.paths {
				rec := do(t, h, http.MethodGet, "/v1/patches/"+p+"/events", eventsToken, "")
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"idempotency_key":"k-`) {
					t.Errorf("GET /v1/patches/%s/events = %d %s, want the event of %q", p, rec.Code, rec.Body, tc.id)
				}
				// Posting under another spelling with the same key is the same event.
				rec = do(t, h, http.MethodPost, "/v1/patches/"+p+"/events", eventsToken, `{"type":"discovered","idempotency_key":"k-`+tc.id+`"}`)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"duplicate":true`) {
					t.Errorf("POST /v1/patches/%s/events = %d %s, want the duplicate of %q", p, rec.Code, rec.Body, tc.id)
				}
			}
		})
	}
}

// A key reused for another event is a conflict, on the replica that stored
// it and on another one; a retry of the same body stays a duplicate.
func TestEventIdempotencyConflict(t *testing.T) {
	path := t.TempDir() + "/patchgate.db"
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	a, st := replica(t, path, now)
	b, _ := replica(t, path, now.Add(time.Minute))
	const first = `{"type":"stage_started","service":"checkout","stage":"canary","hosts":5,"idempotency_key":"k1","labels":{"run":"1"}}`
	if rec := do(t, a, http.MethodPost, "/v1/patches/p1/events", eventsToken, first); rec.Code != http.StatusCreated {
		t.Fatalf("first POST: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		field      string // named in the conflict message
	}{
		{"retry, no time given", first, http.StatusOK, ""},
		{"another type", strings.Replace(first, "stage_started", "promoted", 1), http.StatusConflict, "type"},
		{"other hosts", strings.Replace(first, `"hosts":5`, `"hosts":50`, 1), http.StatusConflict, "hosts"},
		{"other labels", strings.Replace(first, `"run":"1"`, `"run":"2"`, 1), http.StatusConflict, "labels"},
		{"a time the first did not have", strings.Replace(first, `"hosts":5`, `"hosts":5,"time":"2026-11-26T09:00:00Z"`, 1), http.StatusConflict, "time"},
	} {
		for name, h := range map[string]http.Handler{"same replica": a, "other replica": b} {
			t.Run(tc.name+", "+name, func(t *testing.T) {
				rec := do(t, h, http.MethodPost, "/v1/patches/p1/events", eventsToken, tc.body)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				if tc.status == http.StatusConflict {
					e := errorOf(t, rec)
					if e.Field != "idempotency_key" || !strings.Contains(e.Message, `"k1"`) || !strings.Contains(e.Message, "("+tc.field+":") {
						t.Errorf("conflict %+v, want one naming the key and the field %s", e, tc.field)
					}
				}
			})
		}
	}
	es, err := st.ListEvents(t.Context(), store.EventFilter{PatchID: "p1"})
	if err != nil || len(es) != 1 || es[0].Type != "stage_started" {
		t.Errorf("stored events %+v %v, want the first one only", es, err)
	}
}

// Names with control characters never reach the store (and from there
// /metrics labels, logs, the UI); event times far off are refused.
func TestControlCharactersAndTimesRefused(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	h, st := replica(t, t.TempDir()+"/patchgate.db", now)
	for _, tc := range []struct {
		name, method, target, token, body string
		field                             string
		message                           string
	}{
		{"NUL in the patch id", http.MethodPost, "/v1/patches/p%00x/events", eventsToken, `{"type":"discovered","idempotency_key":"k"}`, "patch_id", "control character U+0000"},
		{"newline in the patch id", http.MethodPost, "/v1/patches/p%0Ax/events", eventsToken, `{"type":"discovered","idempotency_key":"k"}`, "patch_id", "control character U+000A"},
		{"DEL in the patch id", http.MethodPost, "/v1/patches/p%7Fx/events", eventsToken, `{"type":"discovered","idempotency_key":"k"}`, "patch_id", "control character U+007F"},
		{"invalid UTF-8 in the patch id", http.MethodPost, "/v1/patches/p%FFx/events", eventsToken, `{"type":"discovered","idempotency_key":"k"}`, "patch_id", "UTF-8"},
		{"NUL in the key", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k\u0000"}`, "idempotency_key", "control character"},
		{"C1 control in the cluster", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k","cluster":"eu\u0085"}`, "cluster", "control character U+0085"},
		{"tab in the attempt", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k","attempt":"1\t2"}`, "attempt", "control character"},
		{"NUL in a listed patch id", http.MethodGet, "/v1/patches/p%00/events", eventsToken, "", "patch_id", "control character"},
		{"zero time", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k","time":"0001-01-01T00:00:00Z"}`, "time", "from 2016-11-28T10:00:00Z to 2026-11-26T10:05:00Z"},
		{"eleven years ago", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k","time":"2015-11-26T10:00:00Z"}`, "time", "out of range"},
		{"far future", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k","time":"9999-12-31T23:59:59Z"}`, "time", "out of range"},
		{"disclosed in year 1", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k","labels":{"disclosed_at":"0001-01-01T00:00:00Z"}}`, "labels.disclosed_at", "from 1999-01-01T00:00:00Z"},
		{"disclosed, not a time", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k","labels":{"disclosed_at":"last week"}}`, "labels.disclosed_at", "RFC 3339"},
		{"NUL in a gate request's patch id", http.MethodPost, "/v1/gate", ciToken, `{"service":"checkout","patch_id":"p\u0000","stage":"canary"}`, "patch_id", "control character"},
		{"escape in a gate request's stage", http.MethodPost, "/v1/gate", ciToken, `{"service":"checkout","patch_id":"p","stage":"canary\u001b[31m"}`, "stage", "control character U+001B"},
		{"NUL in an override's patch id", http.MethodPost, "/v1/overrides", adminToken, `{"service":"checkout","patch_id":"p\u0000","verdict":"go","reason":"r","ttl":"1h"}`, "patch_id", "control character"},
		{"NUL in a freeze's service", http.MethodPost, "/v1/freezes", adminToken, `{"service":"checkout\u0000","reason":"r","duration":"1h"}`, "service", "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, tc.method, tc.target, tc.token, tc.body)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", rec.Code, rec.Body)
			}
			if e := errorOf(t, rec); e.Field != tc.field || !strings.Contains(e.Message, tc.message) {
				t.Errorf("error %+v, want field %s and %q", e, tc.field, tc.message)
			}
		})
	}
	// Printable names of every script are fine.
	if rec := do(t, h, http.MethodPost, "/v1/patches/"+url.PathEscape("补丁-ü 1")+"/events", eventsToken, `{"type":"discovered","idempotency_key":"k","time":"2017-01-01T00:00:00Z"}`); rec.Code != http.StatusCreated {
		t.Errorf("printable unicode id, time 9 years ago: %d %s", rec.Code, rec.Body)
	}
	es, err := st.ListEvents(t.Context(), store.EventFilter{})
	if err != nil || len(es) != 1 {
		t.Errorf("stored %d event(s) (%v), want only the good one", len(es), err)
	}
}

// failingOperator is a store whose database has gone away.
type failingOperator struct {
	Operator
	err error
}

func (f failingOperator) AppendEvent(context.Context, store.Event) (store.Event, bool, error) {
	return store.Event{}, false, f.err
}

func (f failingOperator) ListEvents(context.Context, store.EventFilter) ([]store.Event, error) {
	return nil, f.err
}

// A failing store answers 503 "store unavailable, retry" with Retry-After,
// never the driver's text, never a decision.
func TestStoreUnavailableIs503WithRetryAfter(t *testing.T) {
	driverErr := fmt.Errorf("store: append decision %q: %w: %w", "0193-d1", store.ErrUnavailable,
		errors.Join(context.DeadlineExceeded, errors.New("open /var/lib/patchgate/patchgate.db: database or disk is full (13)")))
	g := gateFunc(func(context.Context, gate.Request) (gate.Decision, error) {
		return gate.Decision{}, fmt.Errorf("record decision: %w", driverErr)
	})
	s, _ := newTestServer(t, g, withPolicy(t, operatorPolicy), func(c *Config) {
		c.Operator = failingOperator{err: driverErr}
	})
	for _, tc := range []struct{ name, method, target, token, body string }{
		{"gate", http.MethodPost, "/v1/gate", ciToken, `{"service":"checkout","patch_id":"p","stage":"canary"}`},
		{"post event", http.MethodPost, "/v1/patches/p/events", eventsToken, `{"type":"discovered","idempotency_key":"k"}`},
		{"list events", http.MethodGet, "/v1/patches/p/events", eventsToken, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, s.Handler(), tc.method, tc.target, tc.token, tc.body)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
				t.Fatalf("status %d Retry-After %q, want 503 and 5: %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
			e := errorOf(t, rec)
			if e.Message != "store unavailable, retry" || e.RetryAfterSeconds != 5 {
				t.Errorf("error %+v, want store unavailable, retry", e)
			}
			for _, leak := range []string{"deadline", "disk", "/var/lib", "decision"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("answer shows %q: %s", leak, rec.Body)
				}
			}
		})
	}
}
