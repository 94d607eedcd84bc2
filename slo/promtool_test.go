package slo

import (
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
	testenv.PromtoolTestRules(t, "../testdata/rules/tests/*.test.yml", 3)
}
