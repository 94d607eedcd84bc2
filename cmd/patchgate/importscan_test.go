package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/lifecycle"
	"github.com/patchgate/patchgate/internal/store"
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
	ts := httptest.NewServer(a.server.Handler())
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
