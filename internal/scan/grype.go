package scan

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The parts of Grype's JSON report (`grype -o json`) that name a finding,
// with Grype's own field names: models.Document, Match, Vulnerability
// (VulnerabilityMetadata and Fix), Package and the source of anchore/grype
// grype/presenter/models.
type grypeDocument struct {
	Matches    []json.RawMessage `json:"matches"`
	Source     *grypeSource      `json:"source"`
	Descriptor struct {
		Name      string `json:"name"`
		Timestamp string `json:"timestamp"`
	} `json:"descriptor"`
}

type grypeSource struct {
	Type string `json:"type"`
	// Target is a path or a PURL for most sources, an object (with the
	// userInput the scan was given) for an image.
	Target json.RawMessage `json:"target"`
}

type grypeMatch struct {
	Vulnerability struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Fix      struct {
			Versions []string `json:"versions"`
			State    string   `json:"state"`
		} `json:"fix"`
	} `json:"vulnerability"`
	RelatedVulnerabilities []struct {
		ID string `json:"id"`
	} `json:"relatedVulnerabilities"`
	Artifact struct {
		Name      string `json:"name"`
		Version   string `json:"version"`
		Type      string `json:"type"`
		Locations []struct {
			Path string `json:"path"`
		} `json:"locations"`
	} `json:"artifact"`
}

func (d decoder) grype(r *Report) error {
	top, err := d.object("$", d.data)
	if err != nil {
		return err
	}
	if _, ok := top["matches"]; !ok {
		if _, trivy := top["SchemaVersion"]; trivy {
			return d.fail("$", "has SchemaVersion but no matches: this looks like a Trivy report (use --format trivy)")
		}
		return d.fail("$.matches", "is missing: a Grype JSON report (grype -o json) always has it")
	}
	var doc grypeDocument
	if err := d.unmarshal("$", d.data, &doc); err != nil {
		return err
	}
	if r.CreatedAt, err = d.scanTime("$.descriptor.timestamp", doc.Descriptor.Timestamp); err != nil {
		return err
	}
	if doc.Source != nil {
		if r.Asset, err = d.grypeTarget(doc.Source.Target); err != nil {
			return err
		}
	}
	for i, raw := range doc.Matches {
		path := fmt.Sprintf("$.matches[%d]", i)
		var m grypeMatch
		if err := d.unmarshal(path, raw, &m); err != nil {
			return err
		}
		v := m.Vulnerability
		f := Finding{Vulnerability: v.ID, Package: m.Artifact.Name, Installed: m.Artifact.Version, Target: r.Asset}
		// Grype names the advisory it matched (a GHSA, a distribution's
		// id); the CVE it is about is among the related ones.
		if !strings.HasPrefix(v.ID, "CVE-") {
			for _, rel := range m.RelatedVulnerabilities {
				if strings.HasPrefix(rel.ID, "CVE-") {
					f.Vulnerability = rel.ID
					break
				}
			}
		}
		if len(m.Artifact.Locations) > 0 && m.Artifact.Locations[0].Path != "" {
			f.Target = m.Artifact.Locations[0].Path
		}
		// Fix versions are sorted oldest first: the first fixes it.
		if v.Fix.State == "fixed" && len(v.Fix.Versions) > 0 {
			f.Fixed = strings.TrimSpace(v.Fix.Versions[0])
		}
		if f.Severity, err = d.severity(path+".vulnerability.severity", v.Severity); err != nil {
			return err
		}
		if err := d.checkFinding(path, f, "vulnerability.id", "artifact.name"); err != nil {
			return err
		}
		r.Findings = append(r.Findings, f)
	}
	return nil
}

// grypeTarget names the scanned asset: the target string, or an image's
// userInput.
func (d decoder) grypeTarget(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var img struct {
		UserInput string `json:"userInput"`
	}
	if err := d.unmarshal("$.source.target", raw, &img); err != nil {
		return "", err
	}
	return img.UserInput, nil
}
