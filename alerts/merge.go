package alerts

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// mergeInto adds patchgate's parts to an existing alertmanager.yml:
//
//   - patchgate's route becomes the first child of the root route; the
//     root route (its receiver and settings) and the user's routes stay;
//   - patchgate's receivers are added; a receiver patchgate only names is
//     the file's when the file defines it, else added without integration
//     (Routing.Silent); one it defines must not be defined there
//     differently;
//   - its inhibit rule and time intervals are added.
//
// What an earlier merge added (the route matching source="patchgate", the
// inhibit rule from source="patchgate", the patchgate-windows intervals,
// receivers identical to patchgate's) is replaced, so merging the output
// again changes nothing. Comments and anchors of the file are not kept.
func mergeInto(p parts, m MergeConfig) (Routing, error) {
	var doc any
	if err := yaml.UnmarshalWithOptions(m.Data, &doc, yaml.UseOrderedMap()); err != nil {
		return Routing{}, fmt.Errorf("%s: %w", m.Name, err)
	}
	top, ok := doc.(yaml.MapSlice)
	if !ok {
		return Routing{}, fmt.Errorf("%s: not an Alertmanager configuration: want a mapping with route and receivers", m.Name)
	}
	r := Routing{Intervals: p.intervalNames()}

	// The route.
	root, ok := get(top, "route").(yaml.MapSlice)
	if !ok {
		return Routing{}, fmt.Errorf("%s: no route: Alertmanager needs a root route with a receiver", m.Name)
	}
	if s, _ := get(root, "receiver").(string); s == "" {
		return Routing{}, fmt.Errorf("%s: route: the root route has no receiver", m.Name)
	}
	ours, err := ordered(p.route)
	if err != nil {
		return Routing{}, err
	}
	routes, err := list(root, "route.routes", m.Name)
	if err != nil {
		return Routing{}, err
	}
	kept := []any{ours}
	for _, rt := range routes {
		if isPatchgateRoute(rt) {
			r.Replaced = append(r.Replaced, "route")
			continue
		}
		kept = append(kept, rt)
	}
	root = set(root, "routes", kept)
	top = set(top, "route", root)

	// The receivers.
	receivers, err := list(top, "receivers", m.Name)
	if err != nil {
		return Routing{}, err
	}
	existing := map[string]any{}
	for _, rc := range receivers {
		if ms, ok := rc.(yaml.MapSlice); ok {
			if name, ok := get(ms, "name").(string); ok {
				existing[name] = rc
			}
		}
	}
	for _, pr := range p.receivers {
		have, found := existing[pr.Name]
		if !pr.defined() {
			if found {
				r.Reused = append(r.Reused, pr.Name)
				continue
			}
			// Neither the configuration nor the file gives it an
			// integration: written as Alertmanager's null receiver, and
			// said so.
			r.Silent = append(r.Silent, Silent{Name: pr.Name, Field: pr.field})
		}
		want, err := ordered(pr.receiver)
		if err != nil {
			return Routing{}, err
		}
		if found {
			if !sameValue(have, want) {
				return Routing{}, fmt.Errorf("%s: receiver %q is already defined there, differently from %s: rename one of them (%s.name), or remove it from %s", m.Name, pr.Name, pr.field, pr.field, m.Name)
			}
			r.Replaced = append(r.Replaced, "receiver "+pr.Name)
			r.Receivers = append(r.Receivers, pr.Name)
			continue
		}
		receivers = append(receivers, want)
		r.Receivers = append(r.Receivers, pr.Name)
	}
	top = set(top, "receivers", receivers)

	// The inhibit rule.
	inhibit, err := list(top, "inhibit_rules", m.Name)
	if err != nil {
		return Routing{}, err
	}
	rule, err := ordered(p.inhibit)
	if err != nil {
		return Routing{}, err
	}
	keptRules := []any{}
	for _, ir := range inhibit {
		if ms, ok := ir.(yaml.MapSlice); ok && hasPatchgateMatcher(get(ms, "source_matchers")) {
			r.Replaced = append(r.Replaced, "inhibit rule")
			continue
		}
		keptRules = append(keptRules, ir)
	}
	top = set(top, "inhibit_rules", append(keptRules, rule))

	// The time intervals.
	intervals, err := list(top, "time_intervals", m.Name)
	if err != nil {
		return Routing{}, err
	}
	legacy, err := list(top, "mute_time_intervals", m.Name)
	if err != nil {
		return Routing{}, err
	}
	for _, ti := range legacy {
		if ms, ok := ti.(yaml.MapSlice); ok {
			if name, _ := get(ms, "name").(string); slices.Contains(r.Intervals, name) {
				return Routing{}, fmt.Errorf("%s: mute_time_intervals already has an interval %q, a name patchgate needs for its patch windows", m.Name, name)
			}
		}
	}
	keptIntervals := []any{}
	for _, ti := range intervals {
		if ms, ok := ti.(yaml.MapSlice); ok {
			if name, _ := get(ms, "name").(string); isPatchgateInterval(name) {
				r.Replaced = append(r.Replaced, "time interval "+name)
				continue
			}
		}
		keptIntervals = append(keptIntervals, ti)
	}
	for _, ti := range p.intervals {
		v, err := ordered(ti)
		if err != nil {
			return Routing{}, err
		}
		keptIntervals = append(keptIntervals, v)
	}
	if len(keptIntervals) > 0 {
		top = set(top, "time_intervals", keptIntervals)
	} else {
		top = remove(top, "time_intervals")
	}

	out, err := encode(top)
	if err != nil {
		return Routing{}, err
	}
	header := fmt.Sprintf(`# Merged by patchgate generate alertmanager into %s: patchgate's route
# (matchers source="patchgate") is the first child of the root route; its
# receivers, inhibit rule and patch-window time intervals are added. The rest
# is %s's own, without its comments. docs/alerts.md explains the routing.

`, m.Name, m.Name)
	r.Data = append([]byte(header+silentHeader(r.Silent)), out...)
	return r, nil
}

// isPatchgateRoute reports whether a route matches source="patchgate".
func isPatchgateRoute(v any) bool {
	ms, ok := v.(yaml.MapSlice)
	if !ok {
		return false
	}
	if hasPatchgateMatcher(get(ms, "matchers")) {
		return true
	}
	if match, ok := get(ms, "match").(yaml.MapSlice); ok {
		if s, _ := get(match, SourceLabel).(string); s == Source {
			return true
		}
	}
	return false
}

// hasPatchgateMatcher reports whether a list of matchers holds
// source="patchgate" (spaces and quotes aside).
func hasPatchgateMatcher(v any) bool {
	l, _ := v.([]any)
	for _, m := range l {
		s, _ := m.(string)
		s = strings.NewReplacer(" ", "", `"`, "", "'", "").Replace(s)
		if s == SourceLabel+"="+Source {
			return true
		}
	}
	return false
}

// ordered turns a value into the form the decoder gives: ordered maps and
// []any, so that it merges into the decoded file.
func ordered(v any) (any, error) {
	data, err := marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := yaml.UnmarshalWithOptions(data, &out, yaml.UseOrderedMap()); err != nil {
		return nil, fmt.Errorf("re-read the generated configuration: %w", err)
	}
	return out, nil
}

// sameValue compares two decoded values regardless of key order.
func sameValue(a, b any) bool { return reflect.DeepEqual(unordered(a), unordered(b)) }

func unordered(v any) any {
	switch x := v.(type) {
	case yaml.MapSlice:
		m := make(map[string]any, len(x))
		for _, it := range x {
			m[fmt.Sprint(it.Key)] = unordered(it.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = unordered(e)
		}
		return out
	}
	return v
}

func get(ms yaml.MapSlice, key string) any {
	for _, it := range ms {
		if it.Key == key {
			return it.Value
		}
	}
	return nil
}

func set(ms yaml.MapSlice, key string, v any) yaml.MapSlice {
	for i, it := range ms {
		if it.Key == key {
			ms[i].Value = v
			return ms
		}
	}
	return append(ms, yaml.MapItem{Key: key, Value: v})
}

func remove(ms yaml.MapSlice, key string) yaml.MapSlice {
	return slices.DeleteFunc(ms, func(it yaml.MapItem) bool { return it.Key == key })
}

// list returns the list under key (nil when absent or null).
func list(ms yaml.MapSlice, key, file string) ([]any, error) {
	field := key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	v := get(ms, key)
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: %s: want a list", file, field)
	}
	return l, nil
}
