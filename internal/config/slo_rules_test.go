package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadWithoutSecrets(t *testing.T) {
	// The example config names token environment variables that are not
	// set here: Load refuses it, LoadWithoutSecrets does not need them.
	t.Setenv("PATCHGATE_TOKEN_ARGO", "")
	if _, err := Load("../../testdata/patchgate.yaml"); err == nil {
		t.Fatal("Load succeeded without the token environment, want problems")
	}
	c, err := LoadWithoutSecrets("../../testdata/patchgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Tokens[0].Value != "" {
		t.Errorf("token resolved to %q", c.Tokens[0].Value)
	}

	c, err = LoadWithoutSecrets("../../testdata/rules/patchgate.yaml")
	if err != nil {
		t.Fatal(err)
	}
	payments, _ := c.Service("payments")
	got := c.SpecPath(payments.SLO.Specs[0])
	if _, err := os.Stat(got); err != nil || filepath.Clean(got) != filepath.Join("../../testdata/rules", "../slo/payments-latency.sloth.yml") {
		t.Errorf("spec path %q (%v), want it beside the config", got, err)
	}
	if c.Targets.TimeToDeploy != Duration(5*24*time.Hour) || c.Targets.PatchCoverage != 98 || c.Targets.CompliancePass != 99 ||
		c.Targets.TimeToTest != DefaultTargetTimeToTest {
		t.Errorf("targets %+v, want the file's time_to_deploy, patch_coverage and compliance_pass, defaults elsewhere", c.Targets)
	}
	checkout, _ := c.Service("checkout")
	search, _ := c.Service("search")
	if !checkout.SLO.SlothRulesDeployed || checkout.SLO.Name != DefaultSLOName || search.SLO.Name != "queries" {
		t.Errorf("slo: checkout %+v, search %+v", checkout.SLO, search.SLO)
	}
}
