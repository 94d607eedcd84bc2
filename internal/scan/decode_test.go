package scan

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func decodeFile(t *testing.T, format, name string) Report {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decode(format, name, data, testNow)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return r
}

func TestDecodeTrivy(t *testing.T) {
	r := decodeFile(t, "trivy", "trivy-image.json")
	if r.Asset != "registry.example.com/checkout:1.42.0" {
		t.Errorf("asset %q", r.Asset)
	}
	if want := time.Date(2026, 11, 24, 9, 12, 44, 123456789, time.UTC); !r.CreatedAt.Equal(want) {
		t.Errorf("created %v, want %v", r.CreatedAt, want)
	}
	os := "registry.example.com/checkout:1.42.0 (debian 12.7)"
	want := []Finding{
		{Vulnerability: "CVE-2026-1234", Severity: "critical", Package: "libssl3", Installed: "3.0.14-1~deb12u2", Fixed: "3.0.15-1~deb12u1", Target: os,
			Published: time.Date(2026, 11, 20, 14, 15, 7, 813000000, time.UTC)},
		{Vulnerability: "CVE-2026-1301", Severity: "medium", Package: "libssl3", Installed: "3.0.14-1~deb12u2", Fixed: "3.0.15-1~deb12u1", Target: os,
			Published: time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)},
		{Vulnerability: "CVE-2025-9999", Severity: "low", Package: "zlib1g", Installed: "1:1.2.13.dfsg-1", Target: os},
		{Vulnerability: "CVE-2026-22870", Severity: "high", Package: "golang.org/x/net", Installed: "v0.30.0", Fixed: "0.33.0", Target: "app/go.mod",
			Published: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(want, r.Findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestDecodeGrype(t *testing.T) {
	r := decodeFile(t, "grype", "grype-dir.json")
	if r.Asset != "/srv/checkout" {
		t.Errorf("asset %q", r.Asset)
	}
	if want := time.Date(2026, 11, 24, 9, 3, 11, 520000000, time.UTC); !r.CreatedAt.Equal(want) {
		t.Errorf("created %v, want %v", r.CreatedAt, want)
	}
	want := []Finding{
		// A GHSA match is named by its related CVE.
		{Vulnerability: "CVE-2026-22870", Severity: "high", Package: "golang.org/x/net", Installed: "v0.30.0", Fixed: "0.33.0", Target: "/srv/checkout/go.mod"},
		// wont-fix: no patch; negligible counts as low.
		{Vulnerability: "CVE-2026-3001", Severity: "low", Package: "bash", Installed: "5.2.15-2+b2", Target: "/var/lib/dpkg/status"},
		{Vulnerability: "CVE-2026-1234", Severity: "critical", Package: "libssl3", Installed: "3.0.14-1~deb12u2", Fixed: "3.0.15-1~deb12u1", Target: "/var/lib/dpkg/status"},
	}
	if diff := cmp.Diff(want, r.Findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	clean := decodeFile(t, "grype", "grype-image-clean.json")
	if clean.Asset != "registry.example.com/checkout:1.43.0" || len(clean.Findings) != 0 {
		t.Errorf("clean image report: asset %q, %d findings", clean.Asset, len(clean.Findings))
	}
}

// TestDecodeErrors: a bad report names the file, the JSON path and what
// is wrong there.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, format, body, want string
	}{
		{"empty", "trivy", ``, "r.json: $: is empty: want a JSON object"},
		{"not an object", "trivy", `[1]`, "r.json: $: is a JSON array, want an object"},
		{"truncated", "trivy", `{"SchemaVersion": 2, "Results": [`, "r.json: $: the JSON ends early (a truncated file?)"},
		{"malformed", "grype", "{\n  \"matches\": [}\n", "r.json: $: malformed JSON at line 2, column 16: invalid character '}' looking for beginning of value"},
		{"unknown format", "snyk", `{}`, `r.json: $: unknown format "snyk": want one of trivy, grype`},
		{"old trivy", "trivy", `[]`, "r.json: $: is a JSON array, want an object"},
		{"no schema", "trivy", `{"ArtifactName": "x", "Results": []}`, "r.json: $.SchemaVersion: is 0, want 2 (the JSON of trivy --format json since v0.20)"},
		{"grype as trivy", "trivy", `{"matches": []}`, "r.json: $: has no SchemaVersion but matches: this looks like a Grype report (use --format grype)"},
		{"trivy as grype", "grype", `{"SchemaVersion": 2}`, "r.json: $: has SchemaVersion but no matches: this looks like a Trivy report (use --format trivy)"},
		{"no matches", "grype", `{"source": {}}`, "r.json: $.matches: is missing: a Grype JSON report (grype -o json) always has it"},
		{"results not array", "trivy", `{"SchemaVersion": 2, "Results": {}}`, "r.json: $.Results: is a JSON object, want an array"},
		{"severity type", "trivy", `{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p"}, {"VulnerabilityID": "CVE-2", "PkgName": "p", "Severity": 4}]}]}`,
			"r.json: $.Results[0].Vulnerabilities[1].Severity: is a JSON number, want a string"},
		{"severity word", "trivy", `{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p", "Severity": "SEVERE"}]}]}`,
			`r.json: $.Results[0].Vulnerabilities[0].Severity: unknown severity "SEVERE": want CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE or UNKNOWN`},
		{"no id", "trivy", `{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"PkgName": "p"}]}]}`,
			"r.json: $.Results[0].Vulnerabilities[0].VulnerabilityID: is required: the advisory id (a CVE)"},
		{"published", "trivy", `{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p", "PublishedDate": "yesterday"}]}]}`,
			`r.json: $.Results[0].Vulnerabilities[0].PublishedDate: must be an RFC 3339 time such as 2026-11-20T10:00:00Z, got "yesterday"`},
		{"published too early", "trivy", `{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p", "PublishedDate": "1990-01-01T00:00:00Z"}]}]}`,
			"r.json: $.Results[0].Vulnerabilities[0].PublishedDate: 1990-01-01T00:00:00Z is out of range: a publication must be from 1999-01-01T00:00:00Z to 2026-11-26T10:05:00Z (the CVE list's start to the clock)"},
		{"scan in the future", "trivy", `{"SchemaVersion": 2, "CreatedAt": "2027-01-01T00:00:00Z"}`,
			"r.json: $.CreatedAt: 2027-01-01T00:00:00Z is out of range: a scan's time must be from 2016-11-28T10:00:00Z to 2026-11-26T10:05:00Z (at most 10 years ago and 5 minutes ahead of the clock)"},
		{"grype package", "grype", `{"matches": [{"vulnerability": {"id": "CVE-1", "severity": "High"}, "artifact": {"name": ""}}]}`,
			"r.json: $.matches[0].artifact.name: is required: the package name"},
		{"grype fix versions", "grype", `{"matches": [{"vulnerability": {"id": "CVE-1", "fix": {"versions": "1.0"}}, "artifact": {"name": "p"}}]}`,
			"r.json: $.matches[0].vulnerability.fix.versions: is a JSON string, want an array"},
		{"grype timestamp", "grype", `{"matches": [], "descriptor": {"timestamp": "now"}}`,
			`r.json: $.descriptor.timestamp: must be an RFC 3339 time such as 2026-11-20T10:00:00Z, got "now"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.format, "r.json", []byte(tc.body), testNow)
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "r.json: $") {
				t.Errorf("the error does not name the file and the path")
			}
		})
	}
}
