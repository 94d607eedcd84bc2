package config

import (
	"reflect"
	"testing"
	"time"
)

func TestEffectiveChecks(t *testing.T) {
	svc := Service{
		Name: "checkout",
		Checks: Checks{
			ErrorDelta: &ErrorDelta{MarginPP: 0.5, Alpha: 0.05, Method: "pocock"},
			BurnRate:   &BurnRate{Windows: DefaultBurnWindows()},
			Freshness:  &Freshness{MaxAge: Duration(3 * time.Minute)},
		},
		Stages: []Stage{
			{Name: "canary", Checks: Checks{
				ErrorDelta: &ErrorDelta{MarginPP: 0.25, Alpha: 0.05, Method: "pocock"},
				MinTraffic: &MinTraffic{Requests: 500},
			}},
			{Name: "100pct"},
		},
	}
	cases := []struct {
		stage string
		want  Checks
	}{
		{"", svc.Checks},
		{"canary", Checks{
			ErrorDelta: &ErrorDelta{MarginPP: 0.25, Alpha: 0.05, Method: "pocock"},
			MinTraffic: &MinTraffic{Requests: 500},
			BurnRate:   &BurnRate{Windows: DefaultBurnWindows()},
			Freshness:  &Freshness{MaxAge: Duration(3 * time.Minute)},
		}},
		{"100pct", svc.Checks},
	}
	for _, c := range cases {
		t.Run(c.stage, func(t *testing.T) {
			var stage *Stage
			if c.stage != "" {
				var ok bool
				if stage, ok = svc.Stage(c.stage); !ok {
					t.Fatalf("no stage %q", c.stage)
				}
			}
			got := svc.EffectiveChecks(stage)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			// The result is a copy.
			got.ErrorDelta.MarginPP = 99
			got.BurnRate.Windows[0].Factor = 99
			if svc.Checks.ErrorDelta.MarginPP == 99 || svc.Stages[0].Checks.ErrorDelta.MarginPP == 99 ||
				svc.Checks.BurnRate.Windows[0].Factor == 99 {
				t.Error("changing the effective checks changed the service")
			}
		})
	}
}

func TestLookup(t *testing.T) {
	c := &Config{Services: []Service{
		{Name: "checkout", Stages: []Stage{{Name: "canary"}, {Name: "100pct"}}},
		{Name: "payments"},
	}}
	cases := []struct {
		service, stage string
		found          bool
	}{
		{"checkout", "canary", true},
		{"checkout", "100pct", true},
		{"checkout", "50pct", false},
		{"payments", "canary", false},
		{"search", "", false},
	}
	for _, tc := range cases {
		s, ok := c.Service(tc.service)
		if !ok {
			if tc.found || tc.service != "search" {
				t.Errorf("Service(%q) not found", tc.service)
			}
			continue
		}
		if s.Name != tc.service {
			t.Errorf("Service(%q) = %q", tc.service, s.Name)
		}
		st, ok := s.Stage(tc.stage)
		if ok != tc.found || (ok && st.Name != tc.stage) {
			t.Errorf("Stage(%q, %q) = %v, %v", tc.service, tc.stage, st, ok)
		}
	}
}

func TestTokenHas(t *testing.T) {
	cases := []struct {
		scopes []string
		scope  string
		want   bool
	}{
		{[]string{ScopeGate}, ScopeGate, true},
		{[]string{ScopeGate}, ScopeEvents, false},
		{[]string{ScopeGate, ScopeEvents}, ScopeEvents, true},
		{[]string{ScopeEvents}, ScopeOverride, false},
		{[]string{ScopeAdmin}, ScopeOverride, true},
		{[]string{ScopeAdmin}, ScopeAdmin, true},
		{[]string{ScopeOverride}, ScopeAdmin, false},
		{nil, ScopeGate, false},
	}
	for _, c := range cases {
		if got := (Token{Scopes: c.scopes}).Has(c.scope); got != c.want {
			t.Errorf("%v.Has(%q) = %v, want %v", c.scopes, c.scope, got, c.want)
		}
	}
}
