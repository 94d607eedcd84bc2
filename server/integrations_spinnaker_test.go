package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/gate"
)

// orcaStatus reads a status answer as Orca's MonitorWebhookTask does with
// statusJsonPath $.status, successStatuses SUCCEEDED and terminalStatuses
// TERMINAL: a known status string decides, anything else keeps polling.
func orcaStatus(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Status any `json:"status"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, body)
	}
	s, ok := v.Status.(string)
	if !ok {
		t.Fatalf("$.status is %T, want a string: %s", v.Status, body)
	}
	switch strings.ToUpper(s) {
	case "SUCCEEDED":
		return "SUCCEEDED"
	case "TERMINAL":
		return "TERMINAL"
	}
	return "RUNNING"
}

// spinnakerPayload is what a webhook stage POSTs once Orca has evaluated
// its expressions (payload of the stage written by `generate integrations`).
const spinnakerPayload = `{"service":"checkout","patch_id":"openssl-3.0.15","stage":"canary",` +
	`"params":{"attempt":"01JD4M6X8Q2W5Z","stage_started_at":"2026-11-26T10:00:00Z"}}`

func TestSpinnakerWebhookStage(t *testing.T) {
	for _, tt := range []struct {
		verdict gate.Verdict
		status  string
	}{
		{gate.Go, "SUCCEEDED"},
		{gate.Wait, "RUNNING"},
		{gate.NoGo, "TERMINAL"},
	} {
		t.Run(string(tt.verdict), func(t *testing.T) {
			g := &recordingGate{verdict: tt.verdict}
			s, _ := newTestServer(t, g)
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()

			// createWebhook: POST, 2xx expected, status URL from the Location header.
			resp := spinnakerCall(t, http.MethodPost, ts.URL+"/v1/integrations/spinnaker", spinnakerPayload)
			if resp.code != http.StatusOK {
				t.Fatalf("POST status %d: %s", resp.code, resp.body)
			}
			var a spinnakerAnswer
			if err := json.Unmarshal(resp.body, &a); err != nil {
				t.Fatal(err)
			}
			if a.Status != tt.status || a.Decision.Decision != tt.verdict || a.ID != "dec-1" || a.Reason == "" {
				t.Fatalf("answer %+v, want status %s for %s", a, tt.status, tt.verdict)
			}
			location := resp.header.Get("Location")
			if location == "" || location != a.StatusURL {
				t.Fatalf("Location %q, status_url %q: want the same, not empty", location, a.StatusURL)
			}
			if u, err := url.Parse(location); err != nil || !u.IsAbs() || !strings.HasPrefix(location, ts.URL+"/v1/integrations/spinnaker/status?") {
				t.Fatalf("status URL %q is not an absolute URL on this server", location)
			}

			// monitorWebhook: GET the status URL with the same headers, read $.status.
			poll := spinnakerCall(t, http.MethodGet, location, "")
			if poll.code != http.StatusOK {
				t.Fatalf("GET status %d: %s", poll.code, poll.body)
			}
			if got := orcaStatus(t, poll.body); got != tt.status {
				t.Fatalf("Orca reads %s, want %s", got, tt.status)
			}
			if len(g.requests) != 2 || !reflect.DeepEqual(g.requests[0], g.requests[1]) {
				t.Fatalf("the status URL asked %+v, want the POST's request again", g.requests)
			}
		})
	}
}

func TestSpinnakerStatusFollowsTheGate(t *testing.T) {
	g := &recordingGate{verdict: gate.Wait}
	s, _ := newTestServer(t, g)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp := spinnakerCall(t, http.MethodPost, ts.URL+"/v1/integrations/spinnaker", spinnakerPayload)
	location := resp.header.Get("Location")
	if got := orcaStatus(t, resp.body); got != "RUNNING" {
		t.Fatalf("first answer %s, want RUNNING", got)
	}
	if resp.header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After %q, want 30 on a wait", resp.header.Get("Retry-After"))
	}
	g.mu.Lock()
	g.verdict = gate.Go
	g.mu.Unlock()
	if got := orcaStatus(t, spinnakerCall(t, http.MethodGet, location, "").body); got != "SUCCEEDED" {
		t.Fatalf("after the gate says go, the status URL answers %s", got)
	}
}

func TestSpinnakerBadRequests(t *testing.T) {
	s, _ := newTestServer(t, knownServiceGate(gate.Go))
	status := "/v1/integrations/spinnaker/status?"
	tests := []struct {
		name, method, target, token, body string
		code                              int
		field                             string
	}{
		{"no token", http.MethodPost, "/v1/integrations/spinnaker", "", spinnakerPayload, http.StatusUnauthorized, ""},
		{"events token", http.MethodGet, status + "service=checkout&patch_id=p&stage=canary", eventsToken, "", http.StatusForbidden, "scope"},
		{"unknown field", http.MethodPost, "/v1/integrations/spinnaker", ciToken, `{"service":"checkout","patch_id":"p","stage":"canary","pipeline":"x"}`, http.StatusBadRequest, "pipeline"},
		{"unknown service", http.MethodPost, "/v1/integrations/spinnaker", ciToken, `{"service":"billing","patch_id":"p","stage":"canary"}`, http.StatusNotFound, "service"},
		{"status without service", http.MethodGet, status + "patch_id=p&stage=canary", ciToken, "", http.StatusUnprocessableEntity, "service"},
		{"status with unknown key", http.MethodGet, status + "service=checkout&patch_id=p&stage=canary&attempt=2", ciToken, "", http.StatusBadRequest, "attempt"},
		{"status with a key twice", http.MethodGet, status + "service=checkout&service=billing&patch_id=p&stage=canary", ciToken, "", http.StatusBadRequest, "service"},
		{"status with bad param name", http.MethodGet, status + "service=checkout&patch_id=p&stage=canary&params.a-b=1", ciToken, "", http.StatusUnprocessableEntity, "params"},
		{"status with invalid UTF-8", http.MethodGet, status + "service=checkout&patch_id=%ff&stage=canary", ciToken, "", http.StatusUnprocessableEntity, "patch_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, s.Handler(), tt.method, tt.target, tt.token, tt.body)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.code, rec.Body)
			}
			if e := errorOf(t, rec); e.Field != tt.field {
				t.Errorf("field %q, want %q (%s)", e.Field, tt.field, e.Message)
			}
		})
	}
}

type spinnakerResponse struct {
	code   int
	header http.Header
	body   []byte
}

// spinnakerCall sends a request as Orca does: customHeaders (here the
// bearer token) on the POST and on every status poll.
func spinnakerCall(t *testing.T, method, target, body string) spinnakerResponse {
	t.Helper()
	var r *http.Request
	var err error
	if body != "" {
		r, err = http.NewRequest(method, target, strings.NewReader(body))
	} else {
		r, err = http.NewRequest(method, target, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer "+ciToken)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return spinnakerResponse{code: resp.StatusCode, header: resp.Header, body: b}
}

// BenchmarkIntegrationOverhead compares the cost of the Flagger and
// Spinnaker shapes with POST /v1/gate's, over a gate that answers at once.
func BenchmarkIntegrationOverhead(b *testing.B) {
	s, _ := newTestServer(b, knownServiceGate(gate.Wait))
	h := s.Handler()
	gateBody := `{"service":"checkout","patch_id":"openssl-3.0.15","stage":"canary","params":{"attempt":"7f8d9c6b5a"}}`
	for _, bb := range []struct {
		name, target, token, body string
	}{
		{"gate", "/v1/gate", ciToken, gateBody},
		{"flagger", "/v1/integrations/flagger/confirm-traffic-increase/t/" + ciToken, "", flaggerBody},
		{"spinnaker", "/v1/integrations/spinnaker", ciToken, gateBody},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bb.target, strings.NewReader(bb.body))
				req.Header.Set("Content-Type", "application/json")
				if bb.token != "" {
					req.Header.Set("Authorization", "Bearer "+bb.token)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
