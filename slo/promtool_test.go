package slo

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/testenv"
)

// TestPromtoolTestRules runs the promtool unit tests in
// testdata/rules/tests against the golden rules files (which TestGolden
// keeps equal to the generator's output): the page alert fires at 14.4×
// within its 1h window and never at 1×, the ticket alert fires at 1× over
// its 3d window, and the fleet and exposure-window rules record the
// expected values.
func TestPromtoolTestRules(t *testing.T) {
	promtool := testenv.Binary(t, "promtool", "prometheus")
	suites, err := filepath.Glob("../testdata/rules/tests/*.test.yml")
	if err != nil || len(suites) < 3 {
		t.Fatalf("promtool suites: %v %v", suites, err)
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
