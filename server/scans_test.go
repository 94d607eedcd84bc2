package server

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/store"
)

// scanBody is a POST /v1/scans body with the named reports of
// internal/scan's testdata (written as Trivy and Grype write them) and
// any literal ones.
func scanBody(t *testing.T, format string, files []string, literal map[string]string) string {
	t.Helper()
	in := ScanInput{Format: format, Service: "checkout", Cluster: "eu-1"}
	for _, f := range files {
		data, err := os.ReadFile("../internal/scan/testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		in.Reports = append(in.Reports, ScanReport{Name: f, Report: data})
	}
	for name, body := range literal {
		in.Reports = append(in.Reports, ScanReport{Name: name, Report: json.RawMessage(body)})
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func postScan(t *testing.T, f *operatorFixture, body string) ScanAnswer {
	t.Helper()
	rec := do(t, f.h, http.MethodPost, "/v1/scans", eventsToken, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var a ScanAnswer
	decodeInto(t, rec.Body.Bytes(), &a)
	return a
}

// TestPostScansLifecycle: a report's fixes become discovered events; the
// same report again changes nothing; a bad report is named with its JSON
// path and the others imported, but closes nothing; a later clean scan
// closes the exposure.
func TestPostScansLifecycle(t *testing.T) {
	f := newOperatorServer(t)
	bad := `{"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p", "Severity": 4}]}]}`
	a := postScan(t, f, scanBody(t, "trivy", []string{"trivy-image.json"}, map[string]string{"host-7.json": bad}))
	if len(a.Reports) != 2 || a.Reports[0].Findings != 4 || a.Reports[0].Asset != "registry.example.com/checkout:1.42.0" {
		t.Errorf("reports %+v", a.Reports)
	}
	if want := "host-7.json: $.Results[0].Vulnerabilities[0].Severity: is a JSON number, want a string"; a.Reports[1].Error != want {
		t.Errorf("bad report error %q, want %q", a.Reports[1].Error, want)
	}
	if a.Patches != 2 || a.Unfixed != 1 || a.Added != 2 || a.Unchanged != 0 || a.NotClosed == "" {
		t.Errorf("answer %+v", a)
	}
	events, err := f.store.ListEvents(t.Context(), store.EventFilter{PatchID: "libssl3@3.0.15-1~deb12u1"})
	if err != nil || len(events) != 1 {
		t.Fatalf("libssl3 events %+v, %v", events, err)
	}
	e := events[0]
	if e.Type != store.EventDiscovered || e.Severity != "critical" || e.Service != "checkout" || e.Cluster != "eu-1" ||
		e.Labels[lifecycle.DisclosedAtLabel] != "2026-11-18T10:00:00Z" || e.Labels["cves"] != "CVE-2026-1234,CVE-2026-1301" ||
		e.Time.Format("2006-01-02T15:04:05Z07:00") != "2026-11-24T09:12:44Z" || e.Actor != "flagger-events" {
		t.Errorf("stored event %+v", e)
	}
	if !strings.Contains(e.Detail, "trivy found CVE-2026-1234, CVE-2026-1301 in libssl3 3.0.14-1~deb12u2 (fixed in 3.0.15-1~deb12u1)") {
		t.Errorf("detail %q", e.Detail)
	}

	// The same report again: nothing new.
	again := postScan(t, f, scanBody(t, "trivy", []string{"trivy-image.json"}, nil))
	if again.Added != 0 || again.Unchanged != 2 || again.NotClosed != "" {
		t.Errorf("re-import %+v", again)
	}
	all, _ := f.store.ListEvents(t.Context(), store.EventFilter{})
	if len(all) != 2 {
		t.Errorf("%d events after the re-import, want 2", len(all))
	}

	// A later scan without the findings (a Grype report of the new image).
	clean := postScan(t, f, scanBody(t, "grype", []string{"grype-image-clean.json"}, nil))
	if clean.Added != 2 || len(clean.Events) != 2 {
		t.Fatalf("clean scan %+v", clean)
	}
	for _, ev := range clean.Events {
		if ev.Type != store.EventDeployed || ev.Duplicate {
			t.Errorf("clean scan event %+v", ev)
		}
	}
	events, _ = f.store.ListEvents(t.Context(), store.EventFilter{PatchID: "libssl3@3.0.15-1~deb12u1"})
	if x := lifecycle.Exposure(events); x.Open {
		t.Errorf("exposure open after the clean scan: %+v", x)
	}
	if again := postScan(t, f, scanBody(t, "grype", []string{"grype-image-clean.json"}, nil)); again.Added != 0 || len(again.Events) != 0 {
		t.Errorf("second clean scan %+v", again)
	}
}

func TestPostScansValidation(t *testing.T) {
	f := newOperatorServer(t)
	ok := `{"SchemaVersion": 2}`
	for _, tc := range []struct {
		name, token, body string
		status            int
		field, message    string
	}{
		{"gate scope", ciToken, `{"format":"trivy","service":"checkout","reports":[{"name":"a","report":` + ok + `}]}`, 403, "scope", ""},
		{"format", eventsToken, `{"format":"snyk","service":"checkout","reports":[{"name":"a","report":` + ok + `}]}`, 422, "format", `must be one of trivy, grype, got "snyk"`},
		{"no service", eventsToken, `{"format":"trivy","reports":[{"name":"a","report":` + ok + `}]}`, 422, "service", "is required"},
		{"unknown service", eventsToken, `{"format":"trivy","service":"nope","reports":[{"name":"a","report":` + ok + `}]}`, 404, "service", `unknown service "nope"`},
		{"unknown cluster", eventsToken, `{"format":"trivy","service":"checkout","cluster":"mars","reports":[{"name":"a","report":` + ok + `}]}`, 422, "cluster", `unknown cluster "mars": the configuration's clusters are eu-1`},
		{"no reports", eventsToken, `{"format":"trivy","service":"checkout","reports":[]}`, 422, "reports", "is required: at least one scanner report"},
		{"all bad", eventsToken, `{"format":"trivy","service":"checkout","reports":[{"name":"a.json","report":{"SchemaVersion":1}}]}`, 422, "reports",
			"no report could be read: a.json: $.SchemaVersion: is 1, want 2 (the JSON of trivy --format json since v0.20)"},
		{"unknown field", eventsToken, `{"format":"trivy","service":"checkout","colour":"red","reports":[]}`, 400, "colour", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, f.h, http.MethodPost, "/v1/scans", tc.token, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			e := errorOf(t, rec)
			if e.Field != tc.field || tc.message != "" && e.Message != tc.message {
				t.Errorf("error %q: %q, want %q: %q", e.Field, e.Message, tc.field, tc.message)
			}
		})
	}
	if list, _ := f.store.ListEvents(t.Context(), store.EventFilter{}); len(list) != 0 {
		t.Errorf("bad imports stored %v", list)
	}
}
