package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/internal/testbed"
	"github.com/patchgate/patchgate/report"
	"github.com/patchgate/patchgate/server"
)

// TestImportScan runs `patchgate import scan` against a served gate: a
// Trivy report and a bad file (named with its JSON path, the other still
// imported), the same report again (nothing new), then a clean Grype scan
// that closes the exposure.
func TestImportScan(t *testing.T) {
	a, err := newApp(t.Context(), replicaConfig(t, "sqlite", filepath.Join(t.TempDir(), "scan.db")), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(ts.Close)

	dir := t.TempDir()
	bad := filepath.Join(dir, "host-7.json")
	if err := os.WriteFile(bad, []byte(`{"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": [{"PkgName": "p"}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	trivy := "../../internal/scan/testdata/trivy-image.json"
	clean := "../../internal/scan/testdata/grype-image-clean.json"
	importScan := func(format string, files ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := append([]string{"import", "scan", "--format", format, "--server", ts.URL, "--token", replicaToken, "--service", "checkout"}, files...)
		code := run(t.Context(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, out, errOut := importScan("trivy", trivy, bad)
	if code != exitProblems {
		t.Errorf("exit %d with a bad file, want %d", code, exitProblems)
	}
	for _, want := range []string{
		bad + ": $.Results[0].Vulnerabilities[0].VulnerabilityID: is required: the advisory id (a CVE)",
		"fixes absent from the others are not closed",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	for _, want := range []string{
		"trivy-image.json: registry.example.com/checkout:1.42.0, 4 finding(s)",
		"discovered libssl3@3.0.15-1~deb12u1",
		"critical CVE-2026-1234,CVE-2026-1301",
		"checkout: 2 fix(es), 1 finding(s) without a fix; 2 event(s) added, 0 already recorded",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = importScan("trivy", trivy)
	if code != exitOK || !strings.Contains(out, "0 event(s) added, 2 already recorded") {
		t.Errorf("re-import: exit %d\n%s", code, out)
	}

	code, out, errOut = importScan("grype", clean)
	if code != exitOK || !strings.Contains(out, "gone      libssl3@3.0.15-1~deb12u1") || !strings.Contains(out, "2 event(s) added") {
		t.Errorf("clean scan: exit %d\n%s%s", code, out, errOut)
	}
	events, err := a.store.ListEvents(t.Context(), store.EventFilter{PatchID: "libssl3@3.0.15-1~deb12u1"})
	if err != nil {
		t.Fatal(err)
	}
	if x := lifecycle.Exposure(events); x.Open || len(events) != 2 {
		t.Errorf("after the clean scan: %d events, exposure %+v", len(events), x)
	}

	// Usage errors.
	if code, _, _ := importScan("trivy"); code != exitError {
		t.Errorf("no files: exit %d", code)
	}
	if code, _, errOut := importScan("trivy", bad); code != exitError || !strings.Contains(errOut, "no report could be read") {
		t.Errorf("only a bad file: exit %d: %s", code, errOut)
	}
}

// TestDemoScanInReport: the scanner report the demo imports fills the
// coverage report's open CVEs, by severity against the 14-day target.
func TestDemoScanInReport(t *testing.T) {
	cfg, err := config.Parse("demo.yaml", demoConfig)
	if err != nil {
		t.Fatal(err)
	}
	const token = "demo-scan-token-0123456789"
	cfg.Tokens = []config.Token{{Name: "demo", Value: token, Scopes: []string{config.ScopeAdmin}}}
	cfg.Store = config.Store{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "patchgate.db")}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64 // Unix nanoseconds
	clock.Store(now.UnixNano())
	a, err := newApp(t.Context(), cfg, appOptions{source: testbed.Source(t), now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ts := httptest.NewServer(a.Handler())
	t.Cleanup(ts.Close)

	ans, err := importDemoScan(t.Context(), &server.Client{URL: ts.URL, Token: token}, now)
	if err != nil {
		t.Fatal(err)
	}
	if ans.Patches != 3 || ans.Unfixed != 1 || ans.Added != 3 {
		t.Errorf("import %+v", ans)
	}
	clock.Store(now.Add(time.Hour).UnixNano()) // the report, an hour later
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/reports/coverage?format=json", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep report.Report
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	var got []string
	for _, c := range rep.Exposure.CVEs {
		got = append(got, fmt.Sprintf("%s %s %s %.0f %s", c.Severity, c.CVE, c.PatchID, c.DaysOpen, c.Status))
	}
	want := []string{
		"critical CVE-2026-41002 libexpat1@2.5.0-1+deb12u2 19 missed",
		"high CVE-2026-40311 libxml2@2.9.14+dfsg-1.3~deb12u2 6 met",
		"high CVE-2026-40312 libxml2@2.9.14+dfsg-1.3~deb12u2 6 met",
		"medium CVE-2026-39883 golang.org/x/crypto@0.35.0 2 met",
	}
	if !slices.Equal(got, want) {
		t.Errorf("open CVEs\n got %q\nwant %q", got, want)
	}
	if s := rep.Exposure.CVEsBySeverity[0]; s.Severity != "critical" || s.Open != 1 || s.OverTarget != 1 || s.Status != report.Missed {
		t.Errorf("critical summary %+v", s)
	}
}
