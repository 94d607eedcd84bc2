package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/scan"
	"github.com/patchgate/patchgate/internal/store"
)

// maxScanBytes bounds the body of POST /v1/scans: scanner reports of
// large images run to megabytes.
const maxScanBytes = 32 << 20

// maxScanReports bounds the reports of one import.
const maxScanReports = 1000

// ScanInput is the body of POST /v1/scans: the reports of one scan of a
// service (in a cluster, when named), in one format. Together they speak
// for the whole scope: a fix an earlier import found that none of them
// has is recorded as gone (docs/scans.md).
type ScanInput struct {
	Format  string       `json:"format"`
	Service string       `json:"service"`
	Cluster string       `json:"cluster,omitempty"`
	Reports []ScanReport `json:"reports"`
	// Skipped names reports of the same scan the sender could not read
	// (with why): with any, nothing is closed, since their findings are
	// unknown.
	Skipped []string `json:"skipped,omitempty"`
}

// ScanReport is one scanner report, as the scanner wrote it.
type ScanReport struct {
	// Name names it in errors and events (a file name).
	Name   string          `json:"name"`
	Report json.RawMessage `json:"report"`
}

// ScanAnswer is the answer of POST /v1/scans.
type ScanAnswer struct {
	Service   string             `json:"service"`
	Cluster   string             `json:"cluster,omitempty"`
	ScannedAt time.Time          `json:"scanned_at"`
	Reports   []ScanReportResult `json:"reports"`
	// Patches counts the fixes found; Unfixed the findings without a fix.
	Patches int `json:"patches"`
	Unfixed int `json:"unfixed"`
	// Events are the events the import made or found already stored.
	Events []ScanEvent `json:"events"`
	// Added counts the events stored by this import, Unchanged those
	// stored before (the same report imported again).
	Added     int `json:"added"`
	Unchanged int `json:"unchanged"`
	// NotClosed says why fixes absent from this scan were not closed.
	NotClosed string `json:"not_closed,omitempty"`
}

// ScanReportResult is what one report held, or why it was not read.
type ScanReportResult struct {
	Name     string `json:"name"`
	Asset    string `json:"asset,omitempty"`
	Findings int    `json:"findings"`
	Error    string `json:"error,omitempty"`
}

// ScanEvent is one event of an import.
type ScanEvent struct {
	PatchID   string `json:"patch_id"`
	Type      string `json:"type"`
	Severity  string `json:"severity,omitempty"`
	CVEs      string `json:"cves,omitempty"`
	ID        string `json:"id,omitempty"`
	Duplicate bool   `json:"duplicate"`
	Error     string `json:"error,omitempty"`
}

// handlePostScans answers POST /v1/scans: 200 with what each report held
// and the events stored; a report that cannot be read is named with its
// JSON path and the others are imported. 422 when none can be read.
func (s *Server) handlePostScans(c echo.Context) error {
	r := c.Request()
	var in ScanInput
	if err := decodeStrict(http.MaxBytesReader(c.Response(), r.Body, maxScanBytes), &in); err != nil {
		return err
	}
	out, err := s.ImportScan(r.Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// ImportScan checks in, decodes its reports and appends the events they
// call for through AppendEvent's checks.
func (s *Server) ImportScan(ctx context.Context, in ScanInput) (ScanAnswer, error) {
	if s.operator == nil {
		return ScanAnswer{}, &APIError{Status: http.StatusNotImplemented, Message: "this server has no store for patch events"}
	}
	if err := s.checkScanInput(in); err != nil {
		return ScanAnswer{}, err
	}
	now := s.now()
	out := ScanAnswer{Service: in.Service, Cluster: in.Cluster, Events: []ScanEvent{}}
	var reports []scan.Report
	var bad []string
	for i, rep := range in.Reports {
		name := rep.Name
		if name == "" {
			name = fmt.Sprintf("reports[%d]", i)
		}
		dec, err := scan.Decode(in.Format, name, rep.Report, now)
		res := ScanReportResult{Name: name, Asset: dec.Asset, Findings: len(dec.Findings)}
		if err != nil {
			res = ScanReportResult{Name: name, Error: err.Error()}
			bad = append(bad, err.Error())
		} else {
			reports = append(reports, dec)
		}
		out.Reports = append(out.Reports, res)
	}
	if len(reports) == 0 {
		return ScanAnswer{}, &gate.FieldError{Field: "reports", Message: "no report could be read: " + strings.Join(bad, "; ")}
	}
	stored, err := s.operator.ListEvents(ctx, store.EventFilter{Service: in.Service, Cluster: in.Cluster})
	if err != nil {
		return ScanAnswer{}, fmt.Errorf("listing events: %w", err)
	}
	patches, unfixed := scan.Patches(reports)
	out.Patches, out.Unfixed = len(patches), unfixed
	out.ScannedAt = scan.ScanTime(reports, now).UTC()
	complete := len(bad) == 0 && len(in.Skipped) == 0
	if !complete {
		out.NotClosed = fmt.Sprintf("%d report(s) of this scan could not be read: fixes absent from the others are not closed", len(bad)+len(in.Skipped))
	}
	changes := scan.Plan(patches, scan.PlanConfig{
		Scope: scan.Scope{Service: in.Service, Cluster: in.Cluster}, Stored: stored, At: out.ScannedAt, Complete: complete,
	})
	for _, ch := range changes {
		ev := ScanEvent{PatchID: ch.PatchID, Type: ch.Type, Severity: ch.Severity, CVEs: ch.Labels[scan.CVEsLabel]}
		e, created, err := s.appendEvent(ctx, ch.PatchID, EventInput{
			Type: ch.Type, Time: ch.Time.UTC().Format(time.RFC3339Nano), Service: in.Service, Cluster: in.Cluster,
			Severity: ch.Severity, Detail: ch.Detail, Labels: ch.Labels, IdempotencyKey: ch.Key,
		}, false)
		var fieldErr *gate.FieldError
		switch {
		case errors.As(err, &fieldErr):
			// This fix cannot be an event (a patch id over the length
			// limit, say); the others still can.
			ev.Error = fmt.Sprintf("patch %q: %s: %s", ch.PatchID, fieldErr.Field, fieldErr.Message)
		case err != nil:
			return ScanAnswer{}, err
		default:
			ev.ID, ev.Duplicate = e.ID, !created
			if created {
				out.Added++
			} else {
				out.Unchanged++
			}
		}
		out.Events = append(out.Events, ev)
	}
	s.logger.InfoContext(ctx, "scan imported", "service", in.Service, "cluster", in.Cluster, "format", in.Format,
		"reports", len(in.Reports), "unreadable", len(bad), "patches", len(patches), "added", out.Added, "actor", TokenName(ctx))
	return out, nil
}

func (s *Server) checkScanInput(in ScanInput) error {
	if !slices.Contains(scan.Formats, in.Format) {
		return &gate.FieldError{Field: "format", Message: fmt.Sprintf("must be one of %s, got %q", strings.Join(scan.Formats, ", "), in.Format)}
	}
	if err := checkID("service", in.Service, true); err != nil {
		return err
	}
	if _, ok := s.policy.Service(in.Service); !ok {
		return &gate.NotFoundError{Field: "service", Value: in.Service}
	}
	if err := checkID("cluster", in.Cluster, false); err != nil {
		return err
	}
	if in.Cluster != "" && len(s.policy.Clusters) > 0 {
		if _, ok := s.policy.Cluster(in.Cluster); !ok {
			return &gate.FieldError{Field: "cluster", Message: fmt.Sprintf("unknown cluster %q: the configuration's clusters are %s", in.Cluster, clusterNames(s.policy))}
		}
	}
	switch {
	case len(in.Reports) == 0:
		return &gate.FieldError{Field: "reports", Message: "is required: at least one scanner report"}
	case len(in.Reports) > maxScanReports:
		return &gate.FieldError{Field: "reports", Message: fmt.Sprintf("has %d reports, at most %d allowed", len(in.Reports), maxScanReports)}
	}
	for i, r := range in.Reports {
		if err := checkText(fmt.Sprintf("reports[%d].name", i), r.Name, maxFieldBytes, false); err != nil {
			return err
		}
	}
	return nil
}

// ImportScan posts a scan's reports (POST /v1/scans).
func (c *Client) ImportScan(ctx context.Context, in ScanInput) (ScanAnswer, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return ScanAnswer{}, fmt.Errorf("encoding scan: %w", err)
	}
	var out ScanAnswer
	if err := c.do(ctx, http.MethodPost, "/v1/scans", body, &out); err != nil {
		return ScanAnswer{}, err
	}
	return out, nil
}

// Unreadable counts the reports the server could not read.
func (a ScanAnswer) Unreadable() int {
	n := 0
	for _, r := range a.Reports {
		if r.Error != "" {
			n++
		}
	}
	return n
}
