package config

import (
	"errors"
	"strings"
	"testing"
)

const integrationsBase = `source: {type: embedded}
services:
  - name: checkout
    sli:
      errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total[{{.window}}]))
      canary: '{track="canary"}'
      baseline: '{track="baseline"}'
    slo: {objective: 99.9}
    checks: {error_delta: {}}
    stages: [{name: canary}, {name: 100pct}]
`

func TestFlaggerTargets(t *testing.T) {
	src := integrationsBase + `integrations:
  flagger:
    targets:
      - {namespace: shop, name: checkout, service: checkout, stage: canary,
         stage_by_hook: {confirm-promotion: 100pct}}
      - {namespace: shop, name: checkout-eu, service: checkout}
`
	c, err := Parse("flagger.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		namespace, name, hook string
		found                 bool
		service, stage        string
	}{
		{"shop", "checkout", "confirm-traffic-increase", true, "checkout", "canary"},
		{"shop", "checkout", "rollback", true, "checkout", "canary"},
		{"shop", "checkout", "confirm-promotion", true, "checkout", "100pct"},
		{"shop", "checkout-eu", "confirm-promotion", true, "checkout", ""},
		{"other", "checkout", "rollout", false, "", ""},
	}
	for _, tt := range tests {
		target, ok := c.FlaggerTarget(tt.namespace, tt.name)
		if ok != tt.found {
			t.Fatalf("FlaggerTarget(%s, %s) found %v, want %v", tt.namespace, tt.name, ok, tt.found)
		}
		if !ok {
			continue
		}
		if target.Service != tt.service || target.StageFor(tt.hook) != tt.stage {
			t.Errorf("%s/%s %s: service %q stage %q, want %q %q", tt.namespace, tt.name, tt.hook,
				target.Service, target.StageFor(tt.hook), tt.service, tt.stage)
		}
	}
}

func TestBadFlaggerTargets(t *testing.T) {
	tests := []struct {
		name    string
		targets string
		want    []string
	}{
		{
			name: "missing fields",
			targets: `      - stage: canary
`,
			want: []string{
				"bad.yml:15:9: integrations.flagger.targets[0].namespace: required: the Canary's namespace",
				"bad.yml:15:9: integrations.flagger.targets[0].name: required: the Canary's name",
				"bad.yml:15:9: integrations.flagger.targets[0].service: required: one of the configured services",
			},
		},
		{
			name: "unknown service",
			targets: `      - {namespace: shop, name: cart, service: cart}
`,
			want: []string{`bad.yml:15:39: integrations.flagger.targets[0].service: undefined service "cart"`},
		},
		{
			name: "unknown stage and hook",
			targets: `      - namespace: shop
        name: checkout
        service: checkout
        stage: 50pct
        stage_by_hook:
          confirm-promotion: 100pct
          confirm-rollback: canary
          rollback: 25pct
`,
			want: []string{
				`bad.yml:18:9: integrations.flagger.targets[0].stage: service "checkout" has no stage "50pct" (stages: canary, 100pct)`,
				`bad.yml:21:11: integrations.flagger.targets[0].stage_by_hook.confirm-rollback: unknown Flagger webhook type "confirm-rollback": must be one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event`,
				`bad.yml:22:11: integrations.flagger.targets[0].stage_by_hook.rollback: service "checkout" has no stage "25pct" (stages: canary, 100pct)`,
			},
		},
		{
			name: "same Canary twice",
			targets: `      - {namespace: shop, name: checkout, service: checkout}
      - {namespace: shop, name: checkout, service: checkout, stage: canary}
`,
			want: []string{"bad.yml:16:9: integrations.flagger.targets[1]: Canary shop/checkout is already mapped by integrations.flagger.targets[0]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := integrationsBase + "integrations:\n  flagger:\n    targets:\n" + tt.targets
			_, err := Parse("bad.yml", []byte(src))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse error %v, want Problems", err)
			}
			got := strings.Split(ps.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
