package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/gate"
)

func TestGateBadRequests(t *testing.T) {
	long := strings.Repeat("x", maxFieldBytes+1)
	manyParams := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":"v"`, i)
		}
		return b.String()
	}
	body := func(params string) string {
		return `{"service":"checkout","patch_id":"p1","stage":"canary","params":{` + params + `}}`
	}
	tests := []struct {
		name   string
		body   string
		status int
		field  string
		msg    string // part of the message, when it matters
	}{
		{"empty body", "", http.StatusBadRequest, "", "empty"},
		{"malformed JSON", `{"service":"checkout",}`, http.StatusBadRequest, "", "offset 23"},
		{"truncated JSON", `{"service":"checkout"`, http.StatusBadRequest, "", "unexpected end"},
		{"not an object", `["checkout"]`, http.StatusBadRequest, "", "JSON object"},
		{"unknown field", `{"service":"checkout","patch_id":"p1","stage":"canary","servce":"x"}`, http.StatusBadRequest, "servce", "unknown field"},
		{"trailing data", `{"service":"checkout","patch_id":"p1","stage":"canary"} {}`, http.StatusBadRequest, "", "after the JSON object"},
		{"trailing garbage", `{"service":"checkout","patch_id":"p1","stage":"canary"}x`, http.StatusBadRequest, "", "after the JSON object"},
		{"service not a string", `{"service":5,"patch_id":"p1","stage":"canary"}`, http.StatusBadRequest, "service", "string"},
		{"params not an object", `{"service":"checkout","patch_id":"p1","stage":"canary","params":"x"}`, http.StatusBadRequest, "params", "wrong type"},
		{"param value not a string", body(`"a":1`), http.StatusBadRequest, "params.a", "string"},
		{"missing service", `{"patch_id":"p1","stage":"canary"}`, http.StatusUnprocessableEntity, "service", "required"},
		{"null service", `{"service":null,"patch_id":"p1","stage":"canary"}`, http.StatusUnprocessableEntity, "service", "required"},
		{"missing patch_id", `{"service":"checkout","stage":"canary"}`, http.StatusUnprocessableEntity, "patch_id", "required"},
		{"empty patch_id", `{"service":"checkout","patch_id":"","stage":"canary"}`, http.StatusUnprocessableEntity, "patch_id", "required"},
		{"missing stage", `{"service":"checkout","patch_id":"p1"}`, http.StatusUnprocessableEntity, "stage", "required"},
		{"null body", `null`, http.StatusUnprocessableEntity, "service", "required"},
		{"oversized service", `{"service":"` + long + `","patch_id":"p1","stage":"canary"}`, http.StatusUnprocessableEntity, "service", "at most 256"},
		{"oversized patch_id", `{"service":"checkout","patch_id":"` + long + `","stage":"canary"}`, http.StatusUnprocessableEntity, "patch_id", "at most 256"},
		{"oversized stage", `{"service":"checkout","patch_id":"p1","stage":"` + long + `"}`, http.StatusUnprocessableEntity, "stage", "at most 256"},
		{"invalid UTF-8 service", "{\"service\":\"check\xffout\",\"patch_id\":\"p1\",\"stage\":\"canary\"}", http.StatusUnprocessableEntity, "service", "UTF-8"},
		{"invalid UTF-8 stage", "{\"service\":\"checkout\",\"patch_id\":\"p1\",\"stage\":\"\xc3\x28\"}", http.StatusUnprocessableEntity, "stage", "UTF-8"},
		{"invalid UTF-8 param value", body("\"a\":\"\xed\xa0\x80\""), http.StatusUnprocessableEntity, "params.a", "UTF-8"},
		{"too many params", body(manyParams(maxParams + 1)), http.StatusUnprocessableEntity, "params", "at most 32"},
		{"param key starts with digit", body(`"1a":"v"`), http.StatusUnprocessableEntity, "params", `"1a"`},
		{"param key with dash", body(`"canary-hash":"v"`), http.StatusUnprocessableEntity, "params", "must match"},
		{"empty param key", body(`"":"v"`), http.StatusUnprocessableEntity, "params", "must match"},
		{"param key with brace", body(`"a}":"v"`), http.StatusUnprocessableEntity, "params", "must match"},
		{"oversized param key", body(`"` + strings.Repeat("k", maxParamKeyBytes+1) + `":"v"`), http.StatusUnprocessableEntity, "params", "at most 64"},
		{"oversized param value", body(`"a":"` + strings.Repeat("v", maxParamValueBytes+1) + `"`), http.StatusUnprocessableEntity, "params.a", "at most 1024"},
		{"unknown service", `{"service":"billing","patch_id":"p1","stage":"canary"}`, http.StatusNotFound, "service", `unknown service "billing"`},
	}
	s, _ := newTestServer(t, knownServiceGate(gate.Go))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, s.Handler(), http.MethodPost, "/v1/gate", ciToken, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			e := errorOf(t, rec)
			if e.Field != tt.field {
				t.Errorf("field %q, want %q (message %q)", e.Field, tt.field, e.Message)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q lacks %q", e.Message, tt.msg)
			}
		})
	}
}

func TestGateBodyLimit(t *testing.T) {
	s, _ := newTestServer(t, knownServiceGate(gate.Go), func(c *Config) { c.MaxBodyBytes = 100 })
	tests := []struct {
		name   string
		body   string
		status int
	}{
		{"under the limit", `{"service":"checkout","patch_id":"p1","stage":"canary"}`, http.StatusOK},
		{"over the limit", `{"service":"checkout","patch_id":"p1","stage":"canary","params":{"a":"` + strings.Repeat("v", 100) + `"}}`, http.StatusRequestEntityTooLarge},
		{"trailing data over the limit", `{"service":"checkout","patch_id":"p1","stage":"canary"}` + strings.Repeat(" ", 100), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, s.Handler(), http.MethodPost, "/v1/gate", ciToken, tt.body)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != http.StatusOK {
				errorOf(t, rec)
			}
		})
	}
}

func TestGateVerdicts(t *testing.T) {
	tests := []struct {
		verdict    gate.Verdict
		retryAfter string
	}{
		{gate.Go, ""},
		{gate.NoGo, ""},
		{gate.Wait, "30"},
	}
	for _, tt := range tests {
		t.Run(string(tt.verdict), func(t *testing.T) {
			s, _ := newTestServer(t, knownServiceGate(tt.verdict))
			rec := do(t, s.Handler(), http.MethodPost, "/v1/gate", ciToken,
				`{"service":"checkout","patch_id":"p1","stage":"canary"}`)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var got gate.Decision
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("not a decision: %v: %s", err, rec.Body)
			}
			want := decisionFor(gate.Request{Service: "checkout", PatchID: "p1", Stage: "canary"}, tt.verdict)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
			if ra := rec.Header().Get("Retry-After"); ra != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, tt.retryAfter)
			}
		})
	}
}

func TestGatePassesRequestAndToken(t *testing.T) {
	var (
		gotReq   gate.Request
		gotToken string
	)
	g := gateFunc(func(ctx context.Context, req gate.Request) (gate.Decision, error) {
		gotReq, gotToken = req, TokenName(ctx)
		return decisionFor(req, gate.Go), nil
	})
	s, _ := newTestServer(t, g)
	// Quotes, braces and newlines are legal values: the gate escapes them.
	body := `{"service":"checkout","patch_id":"p1","stage":"canary","params":{"canary_hash":"a\"}\n{b","_x9":"","empty":null}}`
	rec := do(t, s.Handler(), http.MethodPost, "/v1/gate", ciToken, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := gate.Request{Service: "checkout", PatchID: "p1", Stage: "canary",
		Params: map[string]string{"canary_hash": "a\"}\n{b", "_x9": "", "empty": ""}}
	if !reflect.DeepEqual(gotReq, want) {
		t.Errorf("gate got %+v, want %+v", gotReq, want)
	}
	if gotToken != "ci" {
		t.Errorf("TokenName %q, want ci", gotToken)
	}
}

func TestGateFailures(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		d      gate.Decision
		status int
		field  string
	}{
		{"field error", &gate.FieldError{Field: "params.stage_started_at", Message: "not RFC 3339"}, gate.Decision{}, http.StatusUnprocessableEntity, "params.stage_started_at"},
		{"unknown stage", &gate.NotFoundError{Field: "stage", Value: "99%"}, gate.Decision{}, http.StatusNotFound, "stage"},
		{"wrapped not found", fmt.Errorf("policy: %w", &gate.NotFoundError{Field: "service", Value: "x"}), gate.Decision{}, http.StatusNotFound, "service"},
		{"deadline", fmt.Errorf("querying: %w", context.DeadlineExceeded), gate.Decision{}, http.StatusServiceUnavailable, ""},
		{"store down", errors.New("appending decision: disk full at /var/lib/patchgate"), gate.Decision{}, http.StatusInternalServerError, ""},
		{"unknown verdict", nil, gate.Decision{ID: "d", Decision: "maybe"}, http.StatusInternalServerError, ""},
		{"empty verdict", nil, gate.Decision{ID: "d"}, http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := gateFunc(func(context.Context, gate.Request) (gate.Decision, error) { return tt.d, tt.err })
			s, _ := newTestServer(t, g)
			rec := do(t, s.Handler(), http.MethodPost, "/v1/gate", ciToken,
				`{"service":"checkout","patch_id":"p1","stage":"canary"}`)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			e := errorOf(t, rec)
			if e.Field != tt.field {
				t.Errorf("field %q, want %q", e.Field, tt.field)
			}
			if strings.Contains(e.Message, "/var/lib") {
				t.Errorf("internal detail leaked: %q", e.Message)
			}
		})
	}
}
