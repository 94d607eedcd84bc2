package dashboards

import (
	"strings"
	"testing"
)

// A dashboard whose query does not parse as PromQL is refused when it is
// built, naming the panel, instead of showing Grafana's error later.
func TestBuildRefusesBrokenQueries(t *testing.T) {
	for _, tc := range []struct {
		expr string
		ok   bool
	}{
		{`sum(rate(http_requests_total{service=~"$service"}[$__rate_interval]))`, true},
		{`sum(rate(http_requests_total[$__rate_interval])`, false},
	} {
		m, err := newDashboard("now-6h", "30s").Uid("x").Title("x").
			WithPanel(tablePanel(panel{id: 7, pos: at(0, 0, 4, 4), title: "Broken"}, nil, q(tc.expr, ""))).Build()
		if err != nil {
			t.Fatal(err)
		}
		err = Dashboard{UID: "x", Model: m}.checkQueries()
		if tc.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), `dashboard x: panel 7 "Broken" target A: the query does not parse as PromQL`) {
			t.Errorf("%s: %v", tc.expr, err)
		}
	}
}
