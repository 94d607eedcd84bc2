package testenv

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PromtoolTestRules runs `promtool test rules` on every suite matching
// glob, each as a parallel subtest; fewer than least suites is a failure,
// so a moved folder cannot pass by testing nothing.
func PromtoolTestRules(t *testing.T, glob string, least int) {
	t.Helper()
	promtool := Binary(t, "promtool", "prometheus")
	suites, err := filepath.Glob(glob)
	if err != nil || len(suites) < least {
		t.Fatalf("promtool suites %s: found %d, want at least %d (%v)", glob, len(suites), least, err)
	}
	for _, suite := range suites {
		t.Run(filepath.Base(suite), func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(promtool, "test", "rules", suite).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Fatalf("promtool test rules %s: %v\n%s", suite, err, out)
			}
		})
	}
}

// PromtoolCheckRules runs `promtool check rules --lint=all --lint-fatal` on
// the rule files and fails unless promtool accepts every one of them.
func PromtoolCheckRules(t *testing.T, promtool string, paths ...string) {
	t.Helper()
	out, err := exec.Command(promtool, append([]string{"check", "rules", "--lint=all", "--lint-fatal"}, paths...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "SUCCESS"); n != len(paths) {
		t.Fatalf("promtool checked %d of %d files:\n%s", n, len(paths), out)
	}
}
