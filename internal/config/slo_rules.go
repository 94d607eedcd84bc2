package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// DefaultSLOName is the sloth_slo label of a service's own SLO.
const DefaultSLOName = "requests"

// Default patch lifecycle targets: the starting targets of the patch SLIs.
const (
	DefaultTargetTimeToDiscover     = Duration(24 * time.Hour)
	DefaultTargetTimeToTest         = Duration(72 * time.Hour)
	DefaultTargetTimeToDeploy       = Duration(7 * 24 * time.Hour)
	DefaultTargetTimeToRollback     = Duration(60 * time.Minute)
	DefaultTargetPatchCoverage      = 95.0
	DefaultTargetCanaryErrorDeltaPP = 0.5
	DefaultTargetExposureWindow     = Duration(14 * 24 * time.Hour)
)

// Targets are the patch lifecycle targets. `patchgate generate rules`
// records each as a patchgate:target_* series beside the SLO rules, so that
// dashboards, alerts and the report compare against the same numbers.
type Targets struct {
	// TimeToDiscover: from a vulnerability's disclosure to its discovered
	// event (default 24h).
	TimeToDiscover Duration `yaml:"time_to_discover" json:"time_to_discover"`
	// TimeToTest: from discovered to tested (default 72h).
	TimeToTest Duration `yaml:"time_to_test" json:"time_to_test"`
	// TimeToDeploy: from discovered to deployed in a cluster (default 7d).
	TimeToDeploy Duration `yaml:"time_to_deploy" json:"time_to_deploy"`
	// TimeToRollback: from the rolled-back stage's start to rolled_back
	// (default 60m).
	TimeToRollback Duration `yaml:"time_to_rollback" json:"time_to_rollback"`
	// PatchCoverage in percent of eligible assets on the patch (default 95).
	PatchCoverage float64 `yaml:"patch_coverage" json:"patch_coverage"`
	// CanaryErrorDeltaPP is the canary's largest tolerated error-rate
	// excess over the baseline, in percentage points (default 0.5).
	CanaryErrorDeltaPP float64 `yaml:"canary_error_delta_pp" json:"canary_error_delta_pp"`
	// ExposureWindow is the longest a patch may stay open (default 14d).
	ExposureWindow Duration `yaml:"exposure_window" json:"exposure_window"`
	// CompliancePass in percent of compliance checks passing; no default:
	// recorded only when set.
	CompliancePass float64 `yaml:"compliance_pass" json:"compliance_pass,omitempty"`
}

// SlothPeriods are the SLO periods `patchgate generate rules` has alert
// windows for (slo/windows: Sloth's 28d and 30d, patchgate's 7d and 90d).
func SlothPeriods() []Duration {
	const day = Duration(24 * time.Hour)
	return []Duration{7 * day, 28 * day, 30 * day, 90 * day}
}

// SlothWindows are the windows Sloth records slo:sli_error:ratio_rate<w>
// for, in every period of SlothPeriods, besides the period itself.
func SlothWindows() []Duration {
	const m, h = Duration(time.Minute), Duration(time.Hour)
	return []Duration{5 * m, 30 * m, h, 2 * h, 6 * h, 24 * h, 72 * h}
}

// sloNameRE is Sloth's rule for SLO names.
var sloNameRE = regexp.MustCompile(`^[A-Za-z0-9][-A-Za-z0-9_.]*[A-Za-z0-9]$`)

func applySLORulesDefaults(c *Config, set func(path string) bool) {
	for i := range c.Services {
		if !set(fmt.Sprintf("services[%d].slo.name", i)) {
			c.Services[i].SLO.Name = DefaultSLOName
		}
	}
	t := &c.Targets
	for _, d := range []struct {
		field string
		dst   *Duration
		def   Duration
	}{
		{"time_to_discover", &t.TimeToDiscover, DefaultTargetTimeToDiscover},
		{"time_to_test", &t.TimeToTest, DefaultTargetTimeToTest},
		{"time_to_deploy", &t.TimeToDeploy, DefaultTargetTimeToDeploy},
		{"time_to_rollback", &t.TimeToRollback, DefaultTargetTimeToRollback},
		{"exposure_window", &t.ExposureWindow, DefaultTargetExposureWindow},
	} {
		if !set("targets." + d.field) {
			*d.dst = d.def
		}
	}
	if !set("targets.patch_coverage") {
		t.PatchCoverage = DefaultTargetPatchCoverage
	}
	if !set("targets.canary_error_delta_pp") {
		t.CanaryErrorDeltaPP = DefaultTargetCanaryErrorDeltaPP
	}
}

func validateSLORules(c *Config, p *collector) {
	for i := range c.Services {
		validateServiceSLORules(&c.Services[i], fmt.Sprintf("services[%d]", i), p)
	}
	validateTargets(&c.Targets, p)
}

func validateServiceSLORules(s *Service, path string, p *collector) {
	sp := path + ".slo"
	if !sloNameRE.MatchString(s.SLO.Name) {
		p.addf(sp+".name", "must start and end with a letter or digit and hold only letters, digits, '.', '_' and '-' (Sloth's rule), got %q", s.SLO.Name)
	}
	seen := map[string]int{}
	for j, f := range s.SLO.Specs {
		fp := fmt.Sprintf("%s.specs[%d]", sp, j)
		if strings.TrimSpace(f) == "" {
			p.addf(fp, "must name a Sloth prometheus/v1 or OpenSLO v1alpha file")
			continue
		}
		if first, dup := seen[filepath.Clean(f)]; dup {
			p.addf(fp, "%q is already specs[%d]", f, first)
			continue
		}
		seen[filepath.Clean(f)] = j
	}
	if !s.SLO.SlothRulesDeployed {
		return
	}
	if !slices.Contains(SlothPeriods(), s.SLO.Period) {
		p.addf(sp+".period", "sloth_rules_deployed needs a period Sloth's rules are generated for: one of %s, got %s",
			joinDurations(SlothPeriods(), "or"), days(s.SLO.Period))
	}
	check := func(c Checks, cp string) {
		if c.BurnRate == nil {
			return
		}
		for k, w := range c.BurnRate.Windows {
			wp := fmt.Sprintf("%s.burn_rate.windows[%d]", cp, k)
			for _, x := range []struct {
				field string
				d     Duration
			}{{"long", w.Long}, {"short", w.Short}} {
				if x.d > 0 && !slices.Contains(SlothWindows(), x.d) {
					p.addf(wp+"."+x.field, "Sloth records no error ratio over %s (sloth_rules_deployed is on): use %s",
						x.d, joinDurations(SlothWindows(), "or"))
				}
			}
		}
	}
	check(s.Checks, path+".checks")
	for j, st := range s.Stages {
		check(st.Checks, fmt.Sprintf("%s.stages[%d].checks", path, j))
	}
}

func validateTargets(t *Targets, p *collector) {
	for _, d := range []struct {
		field string
		v     Duration
	}{
		{"time_to_discover", t.TimeToDiscover}, {"time_to_test", t.TimeToTest},
		{"time_to_deploy", t.TimeToDeploy}, {"time_to_rollback", t.TimeToRollback},
		{"exposure_window", t.ExposureWindow},
	} {
		if d.v <= 0 {
			p.addf("targets."+d.field, "must be greater than 0")
		}
	}
	if !(t.PatchCoverage > 0 && t.PatchCoverage <= 100) {
		p.addf("targets.patch_coverage", "must be a percentage above 0 and at most 100, got %v", t.PatchCoverage)
	}
	if !(t.CanaryErrorDeltaPP > 0 && t.CanaryErrorDeltaPP < 100) {
		p.addf("targets.canary_error_delta_pp", "must be between 0 and 100 percentage points (exclusive), got %v", t.CanaryErrorDeltaPP)
	}
	if p.doc.set("targets.compliance_pass") && !(t.CompliancePass > 0 && t.CompliancePass <= 100) {
		p.addf("targets.compliance_pass", "must be a percentage above 0 and at most 100, got %v", t.CompliancePass)
	}
}

// joinDurations lists durations for messages, whole days as days (7d,
// not 1w), as SLO periods are usually written.
func joinDurations(ds []Duration, last string) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = days(d)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " " + last + " " + s[len(s)-1]
}

// SpecPath is where the SLO spec file f named in the config is read from.
func (c *Config) SpecPath(f string) string {
	if filepath.IsAbs(f) || c.Dir == "" {
		return f
	}
	return filepath.Join(c.Dir, f)
}

// LoadWithoutSecrets reads and validates a config file as Load does and
// checks that the SLO spec files it names can be read, but leaves token and
// DSN secrets unresolved: `patchgate generate` needs none.
func LoadWithoutSecrets(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, doc, err := parseConfig(path, data)
	if err != nil {
		return nil, err
	}
	c.Dir = filepath.Dir(path)
	r := resolver{dir: c.Dir, readFile: os.ReadFile, problems: collector{file: path, doc: doc}}
	r.checkSpecFiles(c)
	if err := r.problems.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkSpecFiles reports SLO spec files that cannot be read.
func (r *resolver) checkSpecFiles(c *Config) {
	for i, s := range c.Services {
		for j, f := range s.SLO.Specs {
			if strings.TrimSpace(f) != "" {
				r.file(fmt.Sprintf("services[%d].slo.specs[%d]", i, j), f)
			}
		}
	}
}

// days prints d as whole days when it is some, else as Prometheus does.
func days(d Duration) string {
	const day = Duration(24 * time.Hour)
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
