// Package scan reads vulnerability scanner reports (Trivy and Grype JSON,
// as those tools write them) and turns their findings into patch
// lifecycle events: a discovered event for each fix newly seen, and a
// deployed event when a later scan of the same service and cluster no
// longer finds it (docs/scans.md).
//
// Decode reads one report; Patches groups findings into patches (one
// package at one fixed version, the patch id package@fixed); Plan says
// which events an import adds, given the events already stored.
package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/patchgate/patchgate/internal/lifecycle"
)

// Formats are the report formats Decode reads.
var Formats = []string{"trivy", "grype"}

// Finding is one vulnerability of one package that a scanner reported.
type Finding struct {
	// Vulnerability is the advisory id: a CVE where the scanner gives one.
	Vulnerability string
	// Severity is critical, high, medium or low; "" when the scanner did
	// not know it.
	Severity  string
	Package   string
	Installed string
	// Fixed is the version that fixes it; "" when there is no fix.
	Fixed string
	// Target is where in the asset the package was found (Trivy's result
	// target, Grype's package location).
	Target string
	// Published is the advisory's publication date (zero when absent).
	Published time.Time
}

// Report is one decoded scanner report.
type Report struct {
	// Name names the report in errors and events (the file name).
	Name   string
	Format string
	// Asset is what was scanned: Trivy's ArtifactName, Grype's source target.
	Asset string
	// CreatedAt is when the scan ran, when the report says.
	CreatedAt time.Time
	Findings  []Finding
}

// Error is a bad report: the file, the JSON path in it ($ is the
// document) and what is wrong there.
type Error struct {
	Name    string
	Path    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Name, e.Path, e.Message)
}

// Decode reads one report of the format ("trivy" or "grype"). Times are
// checked against now as the server checks an event's: the scan's time
// within lifecycle.EventTimeRange, a publication from
// lifecycle.EarliestDisclosure to now.
func Decode(format, name string, data []byte, now time.Time) (Report, error) {
	d := decoder{name: name, data: data, now: now}
	r := Report{Name: name, Format: format}
	var err error
	switch format {
	case "trivy":
		err = d.trivy(&r)
	case "grype":
		err = d.grype(&r)
	default:
		return r, &Error{Name: name, Path: "$", Message: fmt.Sprintf("unknown format %q: want one of %s", format, strings.Join(Formats, ", "))}
	}
	return r, err
}

// decoder decodes one report part by part, so an error names the JSON
// path of the part it is in.
type decoder struct {
	name string
	data []byte
	now  time.Time
}

// unmarshal decodes raw, found at path, into v. Malformed JSON is placed
// by line and column in the whole document.
func (d decoder) unmarshal(path string, raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return d.jsonError(path, raw, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Name: d.name, Path: path, Message: "trailing data after the JSON document"}
	}
	return nil
}

func (d decoder) jsonError(path string, raw []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := position(d.data, int(syntax.Offset))
		return &Error{Name: d.name, Path: path, Message: fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, syntax)}
	case errors.As(err, &typ):
		p := path
		if typ.Field != "" {
			p += "." + typ.Field
		}
		return &Error{Name: d.name, Path: p, Message: fmt.Sprintf("is a JSON %s, want %s", typ.Value, jsonKind(typ.Type.Kind().String()))}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		if len(bytes.TrimSpace(raw)) == 0 {
			return &Error{Name: d.name, Path: path, Message: "is empty: want a JSON object"}
		}
		return &Error{Name: d.name, Path: path, Message: "the JSON ends early (a truncated file?)"}
	}
	return &Error{Name: d.name, Path: path, Message: err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "float64":
		return "a number"
	}
	return goKind
}

// position returns the 1-based line and column of a byte offset.
func position(data []byte, offset int) (line, col int) {
	offset = min(max(offset, 0), len(data))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = offset - bytes.LastIndexByte(before, '\n')
	return line, col
}

func (d decoder) fail(path, format string, args ...any) error {
	return &Error{Name: d.name, Path: path, Message: fmt.Sprintf(format, args...)}
}

// object decodes raw (at path) as a JSON object and keeps its keys.
func (d decoder) object(path string, raw []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := d.unmarshal(path, raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, d.fail(path, "is null, want a JSON object")
	}
	return m, nil
}

// parseTime reads an optional RFC 3339 time at path.
func (d decoder) parseTime(path, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, d.fail(path, "must be an RFC 3339 time such as 2026-11-20T10:00:00Z, got %q", v)
	}
	return t, nil
}

// scanTime reads the optional time of the scan: it becomes the events'
// time, so it must be one the server accepts.
func (d decoder) scanTime(path, v string) (time.Time, error) {
	t, err := d.parseTime(path, v)
	if err != nil || t.IsZero() {
		return t, err
	}
	if earliest, latest := lifecycle.EventTimeRange(d.now); t.Before(earliest) || t.After(latest) {
		return t, d.fail(path, "%s is out of range: a scan's time must be from %s to %s (at most 10 years ago and 5 minutes ahead of the clock)",
			t.UTC().Format(time.RFC3339), earliest.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// published reads an advisory's optional publication date.
func (d decoder) published(path, v string) (time.Time, error) {
	t, err := d.parseTime(path, v)
	if err != nil || t.IsZero() {
		return t, err
	}
	if latest := d.now.Add(lifecycle.MaxEventSkew); t.Before(lifecycle.EarliestDisclosure) || t.After(latest) {
		return t, d.fail(path, "%s is out of range: a publication must be from %s to %s (the CVE list's start to the clock)",
			t.UTC().Format(time.RFC3339), lifecycle.EarliestDisclosure.Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	}
	return t, nil
}

// severity maps a scanner's severity to patchgate's; "" for unknown and
// an error for a word neither scanner writes.
func (d decoder) severity(path, v string) (string, error) {
	switch strings.ToLower(v) {
	case "critical", "high", "medium", "low":
		return strings.ToLower(v), nil
	case "negligible":
		return "low", nil
	case "", "unknown":
		return "", nil
	}
	return "", d.fail(path, "unknown severity %q: want CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE or UNKNOWN", v)
}

// checkFinding refuses a finding that cannot name a patch.
func (d decoder) checkFinding(path string, f Finding, vulnField, pkgField string) error {
	switch {
	case strings.TrimSpace(f.Vulnerability) == "":
		return d.fail(path+"."+vulnField, "is required: the advisory id (a CVE)")
	case strings.TrimSpace(f.Package) == "":
		return d.fail(path+"."+pkgField, "is required: the package name")
	}
	return nil
}

// severityRank orders severities, most severe first; unknown last.
func severityRank(s string) int {
	if i := slices.Index([]string{"critical", "high", "medium", "low"}, s); i >= 0 {
		return i
	}
	return 4
}
