package scan

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The parts of Trivy's JSON report (`trivy image|fs|rootfs -f json`,
// schema version 2) that name a finding, with Trivy's own field names:
// types.Report, types.Result and types.DetectedVulnerability in
// aquasecurity/trivy pkg/types, the advisory fields from trivy-db's
// types.Vulnerability embedded in the last.
type trivyReport struct {
	SchemaVersion int
	CreatedAt     string
	ArtifactName  string
	ArtifactType  string
	Results       []json.RawMessage
}

type trivyResult struct {
	Target          string
	Class           string
	Type            string
	Vulnerabilities []json.RawMessage
}

type trivyVulnerability struct {
	VulnerabilityID  string
	PkgName          string
	PkgPath          string
	InstalledVersion string
	FixedVersion     string
	Status           string
	Severity         string
	PublishedDate    string
}

func (d decoder) trivy(r *Report) error {
	top, err := d.object("$", d.data)
	if err != nil {
		return err
	}
	if _, ok := top["matches"]; ok {
		return d.fail("$", "has no SchemaVersion but matches: this looks like a Grype report (use --format grype)")
	}
	var rep trivyReport
	if err := d.unmarshal("$", d.data, &rep); err != nil {
		return err
	}
	if rep.SchemaVersion != 2 {
		return d.fail("$.SchemaVersion", "is %d, want 2 (the JSON of trivy --format json since v0.20)", rep.SchemaVersion)
	}
	if r.CreatedAt, err = d.scanTime("$.CreatedAt", rep.CreatedAt); err != nil {
		return err
	}
	r.Asset = rep.ArtifactName
	for i, raw := range rep.Results {
		path := fmt.Sprintf("$.Results[%d]", i)
		var res trivyResult
		if err := d.unmarshal(path, raw, &res); err != nil {
			return err
		}
		for j, raw := range res.Vulnerabilities {
			vpath := fmt.Sprintf("%s.Vulnerabilities[%d]", path, j)
			var v trivyVulnerability
			if err := d.unmarshal(vpath, raw, &v); err != nil {
				return err
			}
			f := Finding{Vulnerability: v.VulnerabilityID, Package: v.PkgName, Installed: v.InstalledVersion, Target: res.Target}
			// Trivy lists the fixed versions of several branches as
			// "1.2.3, 1.3.1": the first is the one named.
			f.Fixed, _, _ = strings.Cut(v.FixedVersion, ",")
			f.Fixed = strings.TrimSpace(f.Fixed)
			if v.PkgPath != "" {
				f.Target = res.Target + ":" + v.PkgPath
			}
			if f.Severity, err = d.severity(vpath+".Severity", v.Severity); err != nil {
				return err
			}
			if f.Published, err = d.published(vpath+".PublishedDate", v.PublishedDate); err != nil {
				return err
			}
			if err := d.checkFinding(vpath, f, "VulnerabilityID", "PkgName"); err != nil {
				return err
			}
			r.Findings = append(r.Findings, f)
		}
	}
	return nil
}
