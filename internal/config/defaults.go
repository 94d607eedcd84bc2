package config

import (
	"fmt"
	"time"
)

// Default values, applied by Parse to fields the file leaves out (or sets
// to null). A field written with an explicit zero or empty value is not
// defaulted: validation reports it instead.
const (
	DefaultListen             = ":8080"
	DefaultSourceTimeout      = Duration(10 * time.Second)
	DefaultStoreDriver        = "sqlite"
	DefaultSQLiteDSN          = "patchgate.db"
	DefaultSLOPeriod          = Duration(30 * 24 * time.Hour)
	DefaultMaxWait            = Duration(60 * time.Minute)
	DefaultOnTimeout          = VerdictNoGo
	DefaultOnFutility         = FutilityAnswer
	DefaultErrorDeltaMarginPP = 0.5
	DefaultErrorDeltaAlpha    = 0.05
	DefaultErrorDeltaMethod   = MethodPocock
	DefaultAlertsSelector     = `{severity="page"}`
	DefaultAlertsServiceLabel = "service"
	DefaultFreshnessMaxAge    = Duration(3 * time.Minute)
)

// DefaultBurnWindows are the SRE workbook's page pairs: 1h/5m at 14.4
// (2% of a 30d budget in an hour) and 6h/30m at 6 (5% in six hours).
func DefaultBurnWindows() []BurnWindow {
	return []BurnWindow{
		{Long: Duration(time.Hour), Short: Duration(5 * time.Minute), Factor: 14.4},
		{Long: Duration(6 * time.Hour), Short: Duration(30 * time.Minute), Factor: 6},
	}
}

// applyDefaults fills every field that set reports as not written. It never
// turns a check on: a nil check stays off.
func applyDefaults(c *Config, set func(path string) bool) {
	if !set("listen") {
		c.Listen = DefaultListen
	}
	if !set("source.timeout") {
		c.Source.Timeout = DefaultSourceTimeout
	}
	if !set("store.driver") {
		c.Store.Driver = DefaultStoreDriver
	}
	if c.Store.Driver == "sqlite" && !set("store.dsn") && !set("store.dsn_env") {
		c.Store.DSN = DefaultSQLiteDSN
	}
	applyControlDefaults(c, set)
	applySLORulesDefaults(c, set)
	applyGrafanaDefaults(c, set)
	applyNotifyDefaults(c, set)
	applyAlertingDefaults(c, set)
	for i := range c.Services {
		s := &c.Services[i]
		path := fmt.Sprintf("services[%d]", i)
		if !set(path + ".slo.period") {
			s.SLO.Period = DefaultSLOPeriod
		}
		s.Checks.applyDefaults(path+".checks", set)
		for j := range s.Stages {
			st := &s.Stages[j]
			path := fmt.Sprintf("%s.stages[%d]", path, j)
			if !set(path + ".max_wait") {
				st.MaxWait = DefaultMaxWait
			}
			if !set(path + ".on_timeout") {
				st.OnTimeout = DefaultOnTimeout
			}
			if !set(path + ".on_futility") {
				st.OnFutility = DefaultOnFutility
			}
			st.Checks.applyDefaults(path+".checks", set)
		}
	}
}

func (c *Checks) applyDefaults(path string, set func(path string) bool) {
	if e := c.ErrorDelta; e != nil {
		p := path + ".error_delta."
		if !set(p + "margin_pp") {
			e.MarginPP = DefaultErrorDeltaMarginPP
		}
		if !set(p + "alpha") {
			e.Alpha = DefaultErrorDeltaAlpha
		}
		if !set(p + "method") {
			e.Method = DefaultErrorDeltaMethod
		}
	}
	if b := c.BurnRate; b != nil && !set(path+".burn_rate.windows") {
		b.Windows = DefaultBurnWindows()
	}
	if a := c.Alerts; a != nil {
		if !set(path + ".alerts.selector") {
			a.Selector = DefaultAlertsSelector
		}
		if !set(path + ".alerts.service_label") {
			a.ServiceLabel = DefaultAlertsServiceLabel
		}
	}
	if f := c.Freshness; f != nil && !set(path+".freshness.max_age") {
		f.MaxAge = DefaultFreshnessMaxAge
	}
	if l := c.LatencyDelta; l != nil {
		l.applyDefaults(path+".latency_delta", set)
	}
	for i := range c.PromQL {
		c.PromQL[i].applyDefaults(fmt.Sprintf("%s.promql[%d]", path, i), set)
	}
}
