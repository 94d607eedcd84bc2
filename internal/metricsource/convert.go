package metricsource

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// The functions below turn engine results into the types the HTTP API
// client returns, so that callers see the same values from either source.

func fromVector(v promql.Vector) model.Vector {
	out := make(model.Vector, 0, len(v))
	for _, s := range v {
		ms := &model.Sample{
			Metric:    fromLabels(s.Metric, s.DropName),
			Timestamp: model.Time(s.T),
			Value:     model.SampleValue(s.F),
		}
		if s.H != nil {
			ms.Value = 0
			ms.Histogram = fromHistogram(s.H)
		}
		out = append(out, ms)
	}
	return out
}

func fromMatrix(m promql.Matrix) model.Matrix {
	out := make(model.Matrix, 0, len(m))
	for _, s := range m {
		ss := &model.SampleStream{Metric: fromLabels(s.Metric, s.DropName)}
		if len(s.Floats) > 0 {
			ss.Values = make([]model.SamplePair, 0, len(s.Floats))
			for _, p := range s.Floats {
				ss.Values = append(ss.Values, model.SamplePair{Timestamp: model.Time(p.T), Value: model.SampleValue(p.F)})
			}
		}
		if len(s.Histograms) > 0 {
			ss.Histograms = make([]model.SampleHistogramPair, 0, len(s.Histograms))
			for _, p := range s.Histograms {
				ss.Histograms = append(ss.Histograms, model.SampleHistogramPair{Timestamp: model.Time(p.T), Histogram: fromHistogram(p.H)})
			}
		}
		out = append(out, ss)
	}
	return out
}

func fromLabels(ls labels.Labels, dropName bool) model.Metric {
	m := make(model.Metric, ls.Len())
	ls.Range(func(l labels.Label) {
		if dropName && l.Name == model.MetricNameLabel {
			return
		}
		m[model.LabelName(l.Name)] = model.LabelValue(l.Value)
	})
	return m
}

// fromHistogram converts a native histogram as Prometheus' JSON API does:
// buckets with their boundaries, empty buckets left out.
func fromHistogram(h *histogram.FloatHistogram) *model.SampleHistogram {
	out := &model.SampleHistogram{
		Count: model.FloatString(h.Count),
		Sum:   model.FloatString(h.Sum),
	}
	it := h.AllBucketIterator()
	for it.Next() {
		b := it.At()
		if b.Count == 0 {
			continue
		}
		out.Buckets = append(out.Buckets, &model.HistogramBucket{
			Boundaries: boundaries(b.LowerInclusive, b.UpperInclusive),
			Lower:      model.FloatString(b.Lower),
			Upper:      model.FloatString(b.Upper),
			Count:      model.FloatString(b.Count),
		})
	}
	return out
}

// boundaries encodes which ends of a bucket are inclusive, as in the JSON
// API: 0 upper only, 1 lower only, 2 neither, 3 both.
func boundaries(lower, upper bool) int32 {
	switch {
	case lower && upper:
		return 3
	case lower:
		return 1
	case upper:
		return 0
	default:
		return 2
	}
}
