package config

import "slices"

// Service returns the service called name.
func (c *Config) Service(name string) (*Service, bool) {
	for i := range c.Services {
		if c.Services[i].Name == name {
			return &c.Services[i], true
		}
	}
	return nil, false
}

// Stage returns the stage called name.
func (s *Service) Stage(name string) (*Stage, bool) {
	for i := range s.Stages {
		if s.Stages[i].Name == name {
			return &s.Stages[i], true
		}
	}
	return nil, false
}

// EffectiveMode is the stage's mode, else the service's, else enforce.
func (s *Service) EffectiveMode(stage *Stage) Mode {
	switch {
	case stage != nil && stage.Mode != "":
		return stage.Mode
	case s.Mode != "":
		return s.Mode
	}
	return ModeEnforce
}

// EffectiveChecks returns the service checks with the stage's checks
// replacing them check by check; a nil stage gives the service checks.
// The checks of a parsed config have their defaults filled. The result is a
// copy: changing it leaves the config alone.
func (s *Service) EffectiveChecks(stage *Stage) Checks {
	c := s.Checks
	if stage != nil {
		st := stage.Checks
		c.ErrorDelta = override(c.ErrorDelta, st.ErrorDelta)
		c.MinTraffic = override(c.MinTraffic, st.MinTraffic)
		c.BurnRate = override(c.BurnRate, st.BurnRate)
		c.Alerts = override(c.Alerts, st.Alerts)
		c.Freshness = override(c.Freshness, st.Freshness)
		c.LatencyDelta = override(c.LatencyDelta, st.LatencyDelta)
		if st.PromQL != nil {
			c.PromQL = st.PromQL
		}
		for _, name := range stage.Disable {
			switch name {
			case "error_delta":
				c.ErrorDelta = nil
			case "min_traffic":
				c.MinTraffic = nil
			case "burn_rate":
				c.BurnRate = nil
			case "alerts":
				c.Alerts = nil
			case "freshness":
				c.Freshness = nil
			case "latency_delta":
				c.LatencyDelta = nil
			case "promql":
				c.PromQL = nil
			}
		}
	}
	c.ErrorDelta = clone(c.ErrorDelta)
	c.MinTraffic = clone(c.MinTraffic)
	c.BurnRate = clone(c.BurnRate)
	if c.BurnRate != nil {
		c.BurnRate.Windows = slices.Clone(c.BurnRate.Windows)
	}
	c.Alerts = clone(c.Alerts)
	c.Freshness = clone(c.Freshness)
	c.LatencyDelta = clone(c.LatencyDelta)
	c.PromQL = slices.Clone(c.PromQL)
	return c
}

func override[T any](base, stage *T) *T {
	if stage != nil {
		return stage
	}
	return base
}

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Has reports whether the token carries scope. The admin scope carries
// every scope.
func (t Token) Has(scope string) bool {
	return slices.Contains(t.Scopes, scope) || slices.Contains(t.Scopes, ScopeAdmin)
}
