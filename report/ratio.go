package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// cell is one series of a recorded ratio: its labels, the good and total
// counts under them.
type cell struct {
	labels      map[string]string
	good, total float64
}

// frame holds the cells at one time, by key.
type frame map[string]*cell

// ratioFrames are a ratio's cells at each step of the period.
type ratioFrames struct {
	spec ratioSpec
	// at holds the frames by time (Unix milliseconds); recorded says
	// which were built from the recorded series.
	at       map[int64]frame
	recorded map[int64]bool
	// unweighted counts recorded cells without input counts to weigh
	// them, which are left out.
	unweighted int
}

// newRatioFrames combines the recorded ratios and the input counts: at a
// step where the recorded series have samples, each recorded ratio is
// weighed with its cell's total from the input series (so totals are
// the recording rule's ratios summed correctly); at a step without them,
// the ratio is computed from the input counts.
func newRatioFrames(spec ratioSpec, recorded, input model.Matrix) *ratioFrames {
	rf := &ratioFrames{spec: spec, at: map[int64]frame{}, recorded: map[int64]bool{}}
	counts := map[int64]frame{}
	for _, s := range input {
		labels, key := spec.cellOf(s.Metric)
		outcome := string(s.Metric[model.LabelName(spec.label)])
		if spec.excluded != "" && outcome == spec.excluded {
			continue
		}
		good := outcome == spec.good
		for _, p := range s.Values {
			t := int64(p.Timestamp)
			f := counts[t]
			if f == nil {
				f = frame{}
				counts[t] = f
			}
			c := f[key]
			if c == nil {
				c = &cell{labels: labels}
				f[key] = c
			}
			c.total += float64(p.Value)
			if good {
				c.good += float64(p.Value)
			}
		}
	}
	ratios := map[int64]map[string]float64{}
	cellLabels := map[string]map[string]string{}
	for _, s := range recorded {
		labels, key := spec.cellOf(s.Metric)
		cellLabels[key] = labels
		for _, p := range s.Values {
			t := int64(p.Timestamp)
			if ratios[t] == nil {
				ratios[t] = map[string]float64{}
			}
			ratios[t][key] = float64(p.Value)
		}
	}
	for t, f := range counts {
		if _, ok := ratios[t]; !ok {
			rf.at[t] = f
		}
	}
	for t, rs := range ratios {
		f := frame{}
		for key, ratio := range rs {
			in := counts[t][key]
			if in == nil || in.total == 0 {
				rf.unweighted++
				continue
			}
			f[key] = &cell{labels: cellLabels[key], good: ratio * in.total, total: in.total}
		}
		rf.at[t] = f
		rf.recorded[t] = true
	}
	return rf
}

// cellOf returns the cell labels of a series and their key.
func (r ratioSpec) cellOf(m model.Metric) (map[string]string, string) {
	labels := make(map[string]string, len(r.cells))
	parts := make([]string, len(r.cells))
	for i, name := range r.cells {
		v := string(m[model.LabelName(name)])
		labels[name] = v
		parts[i] = v
	}
	return labels, strings.Join(parts, "\xff")
}

// snapshot is the ratio at time t, overall and by each of by.
func (rf *ratioFrames) snapshot(t time.Time, target float64) Ratios {
	ms := t.UnixMilli()
	f := rf.at[ms]
	out := Ratios{Source: "computed", Expression: rf.spec.expression()}
	if rf.recorded[ms] {
		out.Source = "recorded"
		out.Expression = rf.spec.recorded
	}
	out.Overall = group(f, nil, target)[0]
	for _, name := range rf.spec.cells {
		shares := group(f, []string{name}, target)
		switch name {
		case "severity":
			out.BySeverity = shares
		case "cluster":
			out.ByCluster = shares
		case "service":
			out.ByService = shares
		}
	}
	return out
}

// series is the ratio in percent at every step, overall and by label.
func (rf *ratioFrames) series(by string) []Series {
	times := make([]int64, 0, len(rf.at))
	for t := range rf.at {
		times = append(times, t)
	}
	slices.Sort(times)
	overall := Series{Name: "all"}
	byName := map[string]*Series{}
	var names []string
	for _, t := range times {
		at := time.UnixMilli(t).UTC()
		for _, s := range group(rf.at[t], nil, 0) {
			if s.Ratio != nil {
				overall.Points = append(overall.Points, Point{T: at, V: *s.Ratio * 100})
			}
		}
		if by == "" {
			continue
		}
		for _, s := range group(rf.at[t], []string{by}, 0) {
			name := s.key(by)
			if s.Ratio == nil {
				continue
			}
			if byName[name] == nil {
				byName[name] = &Series{Name: name}
				names = append(names, name)
			}
			byName[name].Points = append(byName[name].Points, Point{T: at, V: *s.Ratio * 100})
		}
	}
	out := []Series{overall}
	sortKeys(by, names)
	for _, n := range names {
		out = append(out, *byName[n])
	}
	return out
}

// mixed says whether some steps were recorded and others computed.
func (rf *ratioFrames) mixed() (recorded, computed int) {
	for t := range rf.at {
		if rf.recorded[t] {
			recorded++
		} else {
			computed++
		}
	}
	return recorded, computed
}

// group sums the cells of f by the labels in by (none: one overall
// share) and compares each ratio with target.
func group(f frame, by []string, target float64) []Share {
	sums := map[string]*Share{}
	var keys []string
	for _, c := range f {
		var s Share
		for _, name := range by {
			s.set(name, c.labels[name])
		}
		k := s.key(by...)
		if sums[k] == nil {
			sums[k] = &s
			keys = append(keys, k)
		}
		sums[k].Good += c.good
		sums[k].Total += c.total
	}
	if len(by) == 0 && len(keys) == 0 {
		return []Share{{Status: NoData}}
	}
	if len(by) == 1 {
		sortKeys(by[0], keys)
	} else {
		slices.Sort(keys)
	}
	out := make([]Share, 0, len(keys))
	for _, k := range keys {
		s := *sums[k]
		s.Status = NoData
		if s.Total > 0 {
			r := s.Good / s.Total
			s.Ratio = &r
			s.Status = statusAtLeast(r, target)
		}
		out = append(out, s)
	}
	return out
}

func (s *Share) set(name, value string) {
	switch name {
	case "severity":
		s.Severity = value
	case "cluster":
		s.Cluster = value
	case "service":
		s.Service = value
	}
}

// key joins the share's values of the named labels.
func (s Share) key(names ...string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		switch n {
		case "severity":
			parts[i] = s.Severity
		case "cluster":
			parts[i] = s.Cluster
		case "service":
			parts[i] = s.Service
		}
	}
	return strings.Join(parts, "\xff")
}

func statusAtLeast(v, target float64) Status {
	if target <= 0 {
		return NoTarget
	}
	if v >= target {
		return Met
	}
	return Missed
}

// severityOrder ranks the severities most urgent first.
var severityOrder = map[string]int{"critical": 0, "high": 1, "medium": 2, "low": 3}

// compareSeverity orders severities most urgent first, unknown ones after
// in alphabetical order.
func compareSeverity(a, b string) int {
	ra, oka := severityOrder[a]
	rb, okb := severityOrder[b]
	switch {
	case oka && okb:
		return cmp.Compare(ra, rb)
	case oka:
		return -1
	case okb:
		return 1
	}
	return cmp.Compare(a, b)
}

// sortKeys sorts label values: severities by urgency, others alphabetically.
func sortKeys(label string, keys []string) {
	if label == "severity" {
		slices.SortFunc(keys, compareSeverity)
		return
	}
	slices.Sort(keys)
}

// describeMix says how a ratio's trend was made when recorded and computed
// steps are mixed.
func describeMix(name string, rf *ratioFrames) string {
	rec, comp := rf.mixed()
	var notes []string
	if rec > 0 && comp > 0 {
		notes = append(notes, fmt.Sprintf("%s trend: %d step(s) from the recorded series %s, %d computed from %s where it was absent",
			name, rec, rf.spec.recorded, comp, rf.spec.input))
	}
	if rf.unweighted > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d recorded sample(s) of %s had no matching %s counts to weigh them and were left out",
			name, rf.unweighted, rf.spec.recorded, rf.spec.input))
	}
	return strings.Join(notes, "; ")
}
