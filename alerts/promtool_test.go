package alerts

import (
	"testing"

	"github.com/patchgate/patchgate/internal/testenv"
)

// TestPromtoolTestRules runs the promtool unit tests in
// testdata/alerts/tests against the golden rules (which TestGoldenRules
// keeps equal to the generator's output): every alert fires when it should,
// with its numbers in its description, and stays quiet when it should not.
func TestPromtoolTestRules(t *testing.T) {
	testenv.PromtoolTestRules(t, "../testdata/alerts/tests/*.test.yml", 4)
}
