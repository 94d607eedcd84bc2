package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/patchgate/patchgate/gate"
)

func TestClientGate(t *testing.T) {
	s, _ := newTestServer(t, knownServiceGate(gate.Wait))
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	req := gate.Request{Service: "checkout", PatchID: "p1", Stage: "canary", Params: map[string]string{"canary_hash": "abc"}}
	tests := []struct {
		name    string
		client  *Client
		req     gate.Request
		want    gate.Decision
		wantErr *APIError
	}{
		{"decision", &Client{URL: ts.URL + "/", Token: ciToken, HTTP: ts.Client()}, req, decisionFor(req, gate.Wait), nil},
		{"default http client", &Client{URL: ts.URL, Token: adminToken}, req, decisionFor(req, gate.Wait), nil},
		{"unknown service", &Client{URL: ts.URL, Token: ciToken}, gate.Request{Service: "billing", PatchID: "p1", Stage: "canary"},
			gate.Decision{}, &APIError{Status: http.StatusNotFound, Field: "service", Message: `unknown service "billing"`}},
		{"invalid request", &Client{URL: ts.URL, Token: ciToken}, gate.Request{Service: "checkout", Stage: "canary"},
			gate.Decision{}, &APIError{Status: http.StatusUnprocessableEntity, Field: "patch_id", Message: "is required"}},
		{"no token", &Client{URL: ts.URL}, req,
			gate.Decision{}, &APIError{Status: http.StatusUnauthorized, Message: "missing Authorization: Bearer token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.client.Gate(context.Background(), tt.req)
			if tt.wantErr != nil {
				var apiErr *APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v (%T), want *APIError", err, err)
				}
				if *apiErr != *tt.wantErr {
					t.Errorf("error %+v, want %+v", apiErr, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestClientNonJSONError(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream connect error", http.StatusBadGateway)
	}))
	defer ts.Close()
	_, err := (&Client{URL: ts.URL}).Gate(context.Background(), gate.Request{Service: "s", PatchID: "p", Stage: "c"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, want *APIError", err)
	}
	want := APIError{Status: http.StatusBadGateway, Message: "upstream connect error"}
	if *apiErr != want {
		t.Errorf("got %+v, want %+v", *apiErr, want)
	}
}
