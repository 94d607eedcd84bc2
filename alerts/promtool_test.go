package alerts

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/testenv"
)

// TestPromtoolTestRules runs the promtool unit tests in
// testdata/alerts/tests against the golden rules (which TestGoldenRules
// keeps equal to the generator's output): every alert fires when it should,
// with its numbers in its description, and stays quiet when it should not.
func TestPromtoolTestRules(t *testing.T) {
	promtool := testenv.Binary(t, "promtool", "prometheus")
	suites, err := filepath.Glob("../testdata/alerts/tests/*.test.yml")
	if err != nil || len(suites) < 4 {
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
