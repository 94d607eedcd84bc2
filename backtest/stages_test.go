package backtest

import (
	"strings"
	"testing"
	"time"
)

func TestReadStages(t *testing.T) {
	const file = `service,patch_id,stage,started_at,ended_at,track,cluster
checkout,openssl-3.0.15,canary,2026-11-26T10:00:00Z,2026-11-26T10:20:00Z,healthy,eu-west-1
checkout,kernel-6.1,canary,yesterday,,regressing,
checkout,,canary,2026-11-26T10:00:00Z,,healthy,
checkout,zlib,canary,2026-11-26T10:00:00Z,2026-11-26T09:00:00Z,healthy,
checkout,glibc,canary,2026-11-26T10:00:00+01:00,,,
checkout,too,many,fields,here,x,y,z
`
	stages, errs := ReadStages("stages.csv", strings.NewReader(file))
	wantErrs := []string{
		"stages.csv:3: column started_at: want an RFC 3339 time such as 2026-11-26T10:00:00Z, got \"yesterday\"",
		"stages.csv:4: column patch_id: required",
		"stages.csv:5: column ended_at: must be after started_at",
		"stages.csv:7: 8 fields, the header names 7",
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors %v, want %d", errs, len(wantErrs))
	}
	for i, e := range errs {
		if e.Error() != wantErrs[i] {
			t.Errorf("error %d: %q, want %q", i, e, wantErrs[i])
		}
	}
	if len(stages) != 2 {
		t.Fatalf("stages %+v, want the two good rows", stages)
	}
	first := stages[0]
	if first.Line != 2 || first.PatchID != "openssl-3.0.15" || !first.StartedAt.Equal(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)) ||
		first.EndedAt.IsZero() || first.Params["track"] != "healthy" || first.Params["cluster"] != "eu-west-1" || len(first.Params) != 2 {
		t.Errorf("first stage %+v", first)
	}
	if second := stages[1]; second.Line != 6 || len(second.Params) != 0 || !second.StartedAt.Equal(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("second stage %+v: empty parameter columns are not parameters", second)
	}
}

func TestReadStagesHeader(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"", "stages.csv:1: empty file: want a header line service,patch_id,stage,started_at"},
		{"service,patch_id,stage\n", "stages.csv:1: column started_at: missing: the header must name service, patch_id, stage, started_at"},
		{"service,patch_id,stage,started_at,stage\n", "stages.csv:1: column stage: named twice"},
	} {
		stages, errs := ReadStages("stages.csv", strings.NewReader(tc.file))
		if len(stages) != 0 || len(errs) != 1 || errs[0].Error() != tc.want {
			t.Errorf("%q: %v %v, want %q", tc.file, stages, errs, tc.want)
		}
	}
}
