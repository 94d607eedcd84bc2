package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// csvHeader names the columns of the CSV format: one measure per row
// ("long" form, ready for a pivot table). value holds text only in the
// report section; times are RFC 3339 in UTC; durations are in seconds.
var csvHeader = []string{"section", "measure", "series", "severity", "cluster", "service", "patch_id", "time", "value", "target", "unit", "status"}

type csvRow struct {
	section, measure, series, severity, cluster, service, patchID string
	time                                                          time.Time
	value                                                         string
	target                                                        *float64
	unit                                                          string
	status                                                        Status
}

func (r csvRow) record() []string {
	var at, target string
	if !r.time.IsZero() {
		at = r.time.UTC().Format(time.RFC3339)
	}
	if r.target != nil {
		target = number(*r.target)
	}
	return []string{r.section, r.measure, r.series, r.severity, r.cluster, r.service, r.patchID, at, r.value, target, r.unit, string(r.status)}
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func optNumber(v *float64) string {
	if v == nil {
		return ""
	}
	return number(*v)
}

// WriteCSV writes the report as CSV (csvHeader's columns).
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, row := range csvRows(r) {
		if err := cw.Write(row.record()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRows(r *Report) []csvRow {
	rows := []csvRow{
		{section: "report", measure: "title", value: r.Title},
		{section: "report", measure: "generated_at", value: r.GeneratedAt.UTC().Format(time.RFC3339)},
		{section: "report", measure: "period_start", value: r.Period.Start.UTC().Format(time.RFC3339)},
		{section: "report", measure: "period_end", value: r.Period.End.UTC().Format(time.RFC3339)},
		{section: "report", measure: "period_length", value: r.Period.Length},
		{section: "report", measure: "trend_step", value: r.Period.Step},
		{section: "report", measure: "data_source", value: r.DataSource},
		{section: "report", measure: "store", value: r.Store},
		{section: "report", measure: "coverage_source", value: r.Coverage.Source + ": " + r.Coverage.Expression},
		{section: "report", measure: "compliance_source", value: r.Compliance.Source + ": " + r.Compliance.Expression},
	}
	rows = append(rows, ratioRows("coverage", "patched_assets", "assets", r.Coverage, r.Targets.Coverage)...)
	exposureTarget := r.Targets.ExposureDays
	for _, p := range r.Exposure.Open {
		rows = append(rows, csvRow{section: "exposure", measure: "days_open", severity: p.Severity,
			service: strings.Join(p.Services, ";"), patchID: p.PatchID, time: p.OpenSince,
			value: number(p.DaysOpen), target: &exposureTarget, unit: "days", status: p.Status})
	}
	rows = append(rows, csvRow{section: "exposure", measure: "open_patches_over_target",
		value: strconv.Itoa(r.Exposure.OverTarget), unit: "patches"})
	for _, c := range r.Exposure.CVEsBySeverity {
		rows = append(rows,
			csvRow{section: "exposure_cves", measure: "open_cves", severity: c.Severity, value: strconv.Itoa(c.Open), unit: "cves"},
			csvRow{section: "exposure_cves", measure: "open_cves_over_target", severity: c.Severity, value: strconv.Itoa(c.OverTarget), unit: "cves", status: c.Status},
			csvRow{section: "exposure_cves", measure: "oldest_days_open", severity: c.Severity, value: number(c.OldestDays), target: &exposureTarget, unit: "days", status: c.Status})
	}
	for _, c := range r.Exposure.CVEs {
		rows = append(rows, csvRow{section: "exposure_cves", measure: "days_open", series: c.CVE, severity: c.Severity,
			service: strings.Join(c.Services, ";"), patchID: c.PatchID, time: c.OpenSince,
			value: number(c.DaysOpen), target: &exposureTarget, unit: "days", status: c.Status})
	}
	rows = append(rows, ratioRows("compliance", "passed_checks", "checks", r.Compliance, r.Targets.Compliance)...)
	for _, lt := range r.LeadTimes {
		target := lt.Target
		rows = append(rows,
			csvRow{section: "lead_time", measure: lt.Metric + "_count", severity: lt.Severity, value: number(lt.Count), unit: "patches"},
			csvRow{section: "lead_time", measure: lt.Metric + "_p50", severity: lt.Severity, value: optNumber(lt.P50), unit: "seconds"},
			csvRow{section: "lead_time", measure: lt.Metric + "_p90", severity: lt.Severity, value: optNumber(lt.P90), target: &target, unit: "seconds", status: lt.Status})
	}
	for _, c := range []struct {
		name string
		c    Counts
	}{{"rollbacks", r.Rollbacks}, {"incidents", r.Incidents}} {
		rows = append(rows, csvRow{section: c.name, measure: c.name, value: strconv.Itoa(c.c.Total), unit: "events"})
		for _, kc := range c.c.ByService {
			rows = append(rows, csvRow{section: c.name, measure: c.name, service: kc.Key, value: strconv.Itoa(kc.Count), unit: "events"})
		}
	}
	for _, t := range r.Trends {
		for _, s := range t.Series {
			for _, p := range s.Points {
				rows = append(rows, csvRow{section: "trend", measure: t.ID, series: s.Name, time: p.T,
					value: number(p.V), target: t.Target, unit: t.Unit})
			}
		}
	}
	for i, n := range r.Notes {
		rows = append(rows, csvRow{section: "note", measure: fmt.Sprintf("note_%d", i+1), value: n})
	}
	return rows
}

func ratioRows(section, goodName, totalName string, rs Ratios, target float64) []csvRow {
	var rows []csvRow
	add := func(s Share) {
		base := csvRow{section: section, severity: s.Severity, cluster: s.Cluster, service: s.Service}
		good, total, ratio := base, base, base
		good.measure, good.value, good.unit = goodName, number(s.Good), totalName
		total.measure, total.value, total.unit = totalName, number(s.Total), totalName
		ratio.measure, ratio.value, ratio.target, ratio.unit, ratio.status = section, optNumber(s.Ratio), &target, "ratio", s.Status
		rows = append(rows, good, total, ratio)
	}
	add(rs.Overall)
	for _, group := range [][]Share{rs.BySeverity, rs.ByCluster, rs.ByService} {
		for _, s := range group {
			add(s)
		}
	}
	return rows
}

// WriteJSON writes the report as indented JSON (the Report type's fields).
func WriteJSON(w io.Writer, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Formats are the formats Write knows.
var Formats = []string{"html", "csv", "json"}

// Write writes r in format (html, csv or json).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "html":
		return WriteHTML(w, r)
	case "csv":
		return WriteCSV(w, r)
	case "json":
		return WriteJSON(w, r)
	}
	return fmt.Errorf("unknown format %q: want html, csv or json", format)
}

// ContentType is the media type of a format.
func ContentType(format string) string {
	switch format {
	case "html":
		return "text/html; charset=utf-8"
	case "csv":
		return "text/csv; charset=utf-8"
	case "json":
		return "application/json"
	}
	return "application/octet-stream"
}
