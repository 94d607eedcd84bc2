package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
)

// LatencyDelta compares the canary's share of slow requests with the
// baseline's, from a Prometheus classic histogram: a request is slow when
// it took longer than Threshold, which must be one of the histogram's
// bucket boundaries (le). The share is a proportion, so the check runs the
// same two-sample sequential test as error_delta, with slow requests in
// the place of errors.
type LatencyDelta struct {
	// Histogram is the histogram's name without a suffix, e.g.
	// http_request_duration_seconds: the check reads its _bucket series.
	Histogram string `yaml:"histogram" json:"histogram"`
	// Selector picks the service's series of the histogram, e.g.
	// {job="checkout"}; the canary and baseline selectors are added to it.
	// Label values may use the same templates as the canary selector.
	Selector string `yaml:"selector" json:"selector"`
	// Threshold is the bucket boundary (le) in the histogram's unit, e.g.
	// 0.5 for 500ms in a _seconds histogram. Required.
	Threshold float64 `yaml:"threshold" json:"threshold"`
	// MarginPP is the tolerated rise of the slow share in percentage
	// points (default 1; between 0 and 100 exclusive).
	MarginPP float64 `yaml:"margin_pp" json:"margin_pp"`
	// Alpha and Method are as for error_delta (defaults 0.05, pocock).
	Alpha  float64 `yaml:"alpha" json:"alpha"`
	Method Method  `yaml:"method" json:"method"`
}

// Defaults of latency_delta.
const (
	DefaultLatencyDeltaMarginPP = 1
	DefaultLatencyDeltaAlpha    = 0.05
	DefaultLatencyDeltaMethod   = MethodPocock
)

func (l *LatencyDelta) applyDefaults(path string, set func(path string) bool) {
	if !set(path + ".margin_pp") {
		l.MarginPP = DefaultLatencyDeltaMarginPP
	}
	if !set(path + ".alpha") {
		l.Alpha = DefaultLatencyDeltaAlpha
	}
	if !set(path + ".method") {
		l.Method = DefaultLatencyDeltaMethod
	}
}

// histogramSuffixes are the series of a classic histogram; Histogram names
// the family without them.
var histogramSuffixes = []string{"_bucket", "_count", "_sum"}

func validateLatencyDelta(l *LatencyDelta, path string, p *collector) {
	switch {
	case l.Histogram == "":
		p.addf(path+".histogram", "required: the histogram's name without _bucket, e.g. http_request_duration_seconds")
	case !model.LegacyValidation.IsValidMetricName(l.Histogram):
		p.addf(path+".histogram", "must be a metric name such as http_request_duration_seconds, got %q", l.Histogram)
	default:
		for _, s := range histogramSuffixes {
			if strings.HasSuffix(l.Histogram, s) {
				p.addf(path+".histogram", "name the histogram without its %s suffix: %q", s, strings.TrimSuffix(l.Histogram, s))
				break
			}
		}
	}
	if l.Selector == "" {
		p.addf(path+".selector", `required: the matchers that pick this service's series, e.g. {job="checkout"}`)
	} else if err := checkServiceSelector(l.Selector); err != nil {
		p.addf(path+".selector", "%v", err)
	}
	switch {
	case !p.doc.set(path + ".threshold"):
		p.addf(path+".threshold", "required: a bucket boundary (le) of the histogram in its unit, e.g. 0.5 for 500ms")
	case !(l.Threshold > 0) || math.IsInf(l.Threshold, 1):
		p.addf(path+".threshold", "must be a bucket boundary greater than 0, got %v", l.Threshold)
	}
	if !(l.MarginPP > 0 && l.MarginPP < 100) {
		p.addf(path+".margin_pp", "must be between 0 and 100 (exclusive), got %v", l.MarginPP)
	}
	if !(l.Alpha > 0 && l.Alpha < 0.5) {
		p.addf(path+".alpha", "must be between 0 and 0.5 (exclusive), got %v", l.Alpha)
	}
	if !slices.Contains(errorDeltaMethods, l.Method) {
		p.addf(path+".method", "must be one of %s, got %q", joinNames(errorDeltaMethods), l.Method)
	}
}

// checkServiceSelector checks the selector that picks a service's series
// of a histogram: label matchers only, with templated values as in the
// canary selector, and no le (the check chooses the buckets).
func checkServiceSelector(s string) error {
	ms, err := parser.ParseMetricSelector(s)
	if err != nil {
		return fmt.Errorf("invalid label selector: %w", err)
	}
	for _, m := range ms {
		switch m.Name {
		case model.MetricNameLabel:
			return errors.New("must hold label matchers only, not a metric name: the histogram is named by histogram")
		case model.BucketLabel:
			return errors.New("must not match le: the check reads every bucket")
		}
		if err := checkTrackTemplate(m.Name, m.Value); err != nil {
			return err
		}
	}
	return nil
}
