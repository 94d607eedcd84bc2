package store

import (
	"testing"
	"time"
)

func TestDecisionHash(t *testing.T) {
	base := Decision{
		Seq:         7,
		ID:          "d1",
		Service:     "ab",
		PatchID:     "c",
		Stage:       "canary",
		Attempt:     "a1",
		Verdict:     "go",
		EvaluatedAt: time.Date(2026, 3, 1, 12, 0, 0, 1, time.UTC),
		Body:        []byte(`{}`),
		PrevHash:    GenesisHash,
	}
	h := decisionHash(base)
	if len(h) != 64 {
		t.Fatalf("hash %q is not 64 hex digits", h)
	}
	for _, tc := range []struct {
		name string
		edit func(d *Decision)
	}{
		{"seq", func(d *Decision) { d.Seq = 8 }},
		{"id", func(d *Decision) { d.ID = "d2" }},
		{"field boundary", func(d *Decision) { d.Service, d.PatchID = "a", "bc" }},
		{"stage", func(d *Decision) { d.Stage = "fleet" }},
		{"attempt", func(d *Decision) { d.Attempt = "" }},
		{"verdict", func(d *Decision) { d.Verdict = "no_go" }},
		{"evaluated_at nanosecond", func(d *Decision) { d.EvaluatedAt = d.EvaluatedAt.Add(time.Nanosecond) }},
		{"body", func(d *Decision) { d.Body = []byte(`{ }`) }},
		{"prev_hash", func(d *Decision) { d.PrevHash = h }},
	} {
		d := base
		tc.edit(&d)
		if decisionHash(d) == h {
			t.Errorf("%s: changing it does not change the hash", tc.name)
		}
	}
	for _, tc := range []struct {
		name string
		edit func(d *Decision)
	}{
		{"time zone", func(d *Decision) { d.EvaluatedAt = d.EvaluatedAt.In(time.FixedZone("X", -7200)) }},
		{"hash field", func(d *Decision) { d.Hash = "ignored" }},
	} {
		d := base
		tc.edit(&d)
		if decisionHash(d) != decisionHash(base) {
			t.Errorf("%s: changes the hash", tc.name)
		}
	}
	empty, null := base, base
	empty.Body, null.Body = []byte{}, nil
	if decisionHash(empty) != decisionHash(null) {
		t.Error("a nil and an empty body hash differently")
	}
}
