package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/store"
)

func TestListDecisions(t *testing.T) {
	log := &fakeDecisions{list: []store.Decision{
		{ID: "b", Body: []byte(`{"decision_id":"b","decision":"no_go"}`)},
		{ID: "a", Body: []byte(`{"decision_id":"a","decision":"go"}`)},
	}}
	s, _ := newTestServer(t, knownServiceGate(gate.Go), func(c *Config) { c.Decisions = log })
	tests := []struct {
		name   string
		query  string
		status int
		filter store.Filter
	}{
		{"no filter", "", http.StatusOK, store.Filter{Limit: defaultListLimit}},
		{"all filters", "?service=checkout&patch_id=p1&stage=canary&limit=5", http.StatusOK,
			store.Filter{Service: "checkout", PatchID: "p1", Stage: "canary", Limit: 5}},
		{"largest limit", "?limit=1000", http.StatusOK, store.Filter{Limit: 1000}},
		{"limit zero", "?limit=0", http.StatusUnprocessableEntity, store.Filter{}},
		{"limit too large", "?limit=1001", http.StatusUnprocessableEntity, store.Filter{}},
		{"negative limit", "?limit=-1", http.StatusUnprocessableEntity, store.Filter{}},
		{"limit not a number", "?limit=ten", http.StatusUnprocessableEntity, store.Filter{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log.filter = store.Filter{}
			rec := do(t, s.Handler(), http.MethodGet, "/v1/decisions"+tt.query, ciToken, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != http.StatusOK {
				if e := errorOf(t, rec); e.Field != "limit" {
					t.Errorf("field %q, want limit", e.Field)
				}
				return
			}
			if log.filter != tt.filter {
				t.Errorf("filter %+v, want %+v", log.filter, tt.filter)
			}
			var got struct {
				Decisions []map[string]string `json:"decisions"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("not JSON: %s", rec.Body)
			}
			want := []map[string]string{{"decision_id": "b", "decision": "no_go"}, {"decision_id": "a", "decision": "go"}}
			if !reflect.DeepEqual(got.Decisions, want) {
				t.Errorf("decisions %v, want %v", got.Decisions, want)
			}
		})
	}
}

func TestListDecisionsEmptyAndFailing(t *testing.T) {
	tests := []struct {
		name   string
		log    *fakeDecisions
		status int
		body   string
	}{
		{"empty log", &fakeDecisions{}, http.StatusOK, `{"decisions":[]}`},
		{"store error", &fakeDecisions{listErr: errors.New("db gone")}, http.StatusInternalServerError, ""},
		{"corrupt body", &fakeDecisions{list: []store.Decision{{ID: "x", Body: []byte("{")}}}, http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, knownServiceGate(gate.Go), func(c *Config) { c.Decisions = tt.log })
			rec := do(t, s.Handler(), http.MethodGet, "/v1/decisions", ciToken, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != http.StatusOK {
				errorOf(t, rec)
				return
			}
			if got := rec.Body.String(); got != tt.body+"\n" {
				t.Errorf("body %q, want %q", got, tt.body)
			}
		})
	}
}

func TestGetDecision(t *testing.T) {
	stored := `{"decision_id":"d1","decision":"wait","retry_after_seconds":30}`
	tests := []struct {
		name   string
		log    *fakeDecisions
		id     string
		status int
		field  string
	}{
		{"found", &fakeDecisions{byID: map[string]store.Decision{"d1": {ID: "d1", Body: []byte(stored)}}}, "d1", http.StatusOK, ""},
		{"not found", &fakeDecisions{}, "nope", http.StatusNotFound, "id"},
		{"store error", &fakeDecisions{getErr: errors.New("db gone")}, "d1", http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, knownServiceGate(gate.Go), func(c *Config) { c.Decisions = tt.log })
			rec := do(t, s.Handler(), http.MethodGet, "/v1/decisions/"+tt.id, ciToken, "")
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status != http.StatusOK {
				if e := errorOf(t, rec); e.Field != tt.field {
					t.Errorf("field %q, want %q", e.Field, tt.field)
				}
				return
			}
			if got := rec.Body.String(); got != stored {
				t.Errorf("body %s, want the stored %s", got, stored)
			}
		})
	}
}
