package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemo runs `make demo` as a user would and checks what it prints:
// the healthy patch goes through every stage, the error regression and
// the latency regression are stopped at the canary with the check that
// caught them, the audit log verifies, and the closing backtest replays
// the demo's own stages under a stricter policy.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo simulates two hours of a fleet")
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--speed", "200"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"checkout  finished",
		"payments  rolled back at canary",
		"search    rolled back at canary",
		"NO_GO error_delta failed",
		"NO_GO latency_delta failed",
		"hash chain intact: true",
		"backtest: the demo's 6 stages replayed under error_delta margin_pp: 0.05 instead of margin_pp: 0.5",
		"checkout canary openssl-3.0.15-CVE-2026-1234 go at minute 3 → go at minute",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo did not print %q:\n%s", want, out)
		}
	}
}
