package backtest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Stage is one past stage attempt to replay: a row of STAGES.csv.
type Stage struct {
	// Line is the stage's line in its file (0 when it came from the store).
	Line      int
	Service   string
	PatchID   string
	Stage     string
	StartedAt time.Time
	// EndedAt is when the stage ended in reality (zero when unknown).
	EndedAt time.Time
	// Params are the request parameters of the asks, as params.NAME in a
	// live ask: every column beyond the known ones.
	Params map[string]string
	// RolledBack says the rollout was rolled back or tied to an incident
	// after the stage started (stages from the store only).
	RolledBack bool
}

// RowError is a bad row of a stages file, naming its line and column.
type RowError struct {
	File   string
	Line   int
	Column string
	Msg    string
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: column %s: %s", e.File, e.Line, e.Column, e.Msg)
}

// Columns of a stages file. Any other column is a request parameter.
var (
	requiredColumns = []string{"service", "patch_id", "stage", "started_at"}
	knownColumns    = append(slices.Clone(requiredColumns), "ended_at")
)

// ReadStages reads a stages file: a header line naming the columns, then
// one stage a line. It returns the good rows and one error a bad row; a
// missing or bad header is one error and no rows.
func ReadStages(name string, r io.Reader) ([]Stage, []error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, []error{&RowError{File: name, Line: 1, Msg: "empty file: want a header line " + strings.Join(requiredColumns, ",")}}
	}
	if err != nil {
		return nil, []error{&RowError{File: name, Line: 1, Msg: err.Error()}}
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, []error{&RowError{File: name, Line: 1, Msg: fmt.Sprintf("column %d has no name", i+1)}}
		}
		if _, dup := col[h]; dup {
			return nil, []error{&RowError{File: name, Line: 1, Column: h, Msg: "named twice"}}
		}
		col[h] = i
	}
	for _, c := range requiredColumns {
		if _, ok := col[c]; !ok {
			return nil, []error{&RowError{File: name, Line: 1, Column: c, Msg: "missing: the header must name " + strings.Join(requiredColumns, ", ")}}
		}
	}
	var (
		stages []Stage
		errs   []error
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			errs = append(errs, &RowError{File: name, Line: line, Msg: err.Error()})
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(header) {
			errs = append(errs, &RowError{File: name, Line: line, Msg: fmt.Sprintf("%d fields, the header names %d", len(rec), len(header))})
			continue
		}
		s, err := parseRow(name, line, header, col, rec)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		stages = append(stages, s)
	}
	return stages, errs
}

func parseRow(name string, line int, header []string, col map[string]int, rec []string) (Stage, error) {
	get := func(c string) string { return strings.TrimSpace(rec[col[c]]) }
	s := Stage{Line: line, Service: get("service"), PatchID: get("patch_id"), Stage: get("stage"), Params: map[string]string{}}
	for _, c := range []struct{ name, value string }{{"service", s.Service}, {"patch_id", s.PatchID}, {"stage", s.Stage}, {"started_at", get("started_at")}} {
		if c.value == "" {
			return Stage{}, &RowError{File: name, Line: line, Column: c.name, Msg: "required"}
		}
	}
	var err error
	if s.StartedAt, err = time.Parse(time.RFC3339, get("started_at")); err != nil {
		return Stage{}, &RowError{File: name, Line: line, Column: "started_at", Msg: fmt.Sprintf("want an RFC 3339 time such as 2026-11-26T10:00:00Z, got %q", get("started_at"))}
	}
	if _, ok := col["ended_at"]; ok && get("ended_at") != "" {
		if s.EndedAt, err = time.Parse(time.RFC3339, get("ended_at")); err != nil {
			return Stage{}, &RowError{File: name, Line: line, Column: "ended_at", Msg: fmt.Sprintf("want an RFC 3339 time, got %q", get("ended_at"))}
		}
		if !s.EndedAt.After(s.StartedAt) {
			return Stage{}, &RowError{File: name, Line: line, Column: "ended_at", Msg: "must be after started_at"}
		}
	}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if !slices.Contains(knownColumns, h) && strings.TrimSpace(rec[i]) != "" {
			s.Params[h] = strings.TrimSpace(rec[i])
		}
	}
	return s, nil
}
