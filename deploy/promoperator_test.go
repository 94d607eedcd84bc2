package deploy

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The fields of the Prometheus Operator's monitoring.coreos.com/v1 kinds
// the chart writes (prometheus-operator pkg/apis/monitoring/v1
// servicemonitor_types.go, prometheusrule_types.go), so that a field the
// operator does not know fails the strict decode as it does for the core
// kinds. The operator's Go module is not a dependency for these few fields.
type (
	serviceMonitor struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              struct {
			Selector  metav1.LabelSelector `json:"selector"`
			Endpoints []struct {
				Port          string `json:"port"`
				Path          string `json:"path"`
				Interval      string `json:"interval"`
				ScrapeTimeout string `json:"scrapeTimeout"`
			} `json:"endpoints"`
		} `json:"spec"`
	}
	prometheusRule struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
		Spec              prometheusRuleSpec `json:"spec"`
	}
	prometheusRuleSpec struct {
		Groups []ruleGroup `json:"groups"`
	}
	ruleGroup struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Limit    *int   `json:"limit,omitempty"`
		Rules    []rule `json:"rules"`
	}
	rule struct {
		Record        string            `json:"record,omitempty"`
		Alert         string            `json:"alert,omitempty"`
		Expr          string            `json:"expr"`
		For           string            `json:"for,omitempty"`
		KeepFiringFor string            `json:"keep_firing_for,omitempty"`
		Labels        map[string]string `json:"labels,omitempty"`
		Annotations   map[string]string `json:"annotations,omitempty"`
	}
)
