package dashboards

import (
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// Queries are templates with Grafana variables ($service, $__rate_interval)
// in them, so they are not PromQL until Grafana fills them in. Values that
// come from the configuration (service and stage names, thresholds) reach a
// query only through label matchers printed by Prometheus' own code, which
// quotes and escapes them.

// sel prints a series selector such as metric{service=~"$service"}.
func sel(metric string, ms ...*labels.Matcher) string {
	if len(ms) == 0 {
		return metric
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return metric + "{" + strings.Join(parts, ",") + "}"
}

func eq(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchEqual, name, value)
}

func ne(name, value string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchNotEqual, name, value)
}

// variable matches the values of the Grafana variable of the same name
// (several of them, or .* for All).
func variable(label, name string) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchRegexp, label, "$"+name)
}

var (
	byService = variable("service", "service")
	byCluster = variable("cluster", "cluster")
	// Sloth's rules carry the service as sloth_service, the SLO's name as
	// sloth_slo.
	bySlothService = labels.MustNewMatcher(labels.MatchEqual, "sloth_service", "$service")
	bySlothSLO     = variable("sloth_slo", "slo")
)
