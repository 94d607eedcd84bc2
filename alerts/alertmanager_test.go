package alerts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	amconfig "github.com/prometheus/alertmanager/config"
	amlabels "github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/testenv"
)

const userAlertmanager = "../testdata/alerts/alertmanager.yml"

// routings returns the standalone configuration and the one merged into
// testdata/alerts/alertmanager.yml.
func routings(t *testing.T) (standalone, merged Routing) {
	t.Helper()
	cfg := loadConfig(t, testConfig)
	standalone, err := Alertmanager(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(userAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	merged, err = Alertmanager(cfg, &MergeConfig{Name: "alertmanager.yml", Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return standalone, merged
}

// TestGoldenAlertmanager compares both forms with testdata/alerts/golden;
// `go test ./alerts -run TestGolden -update` rewrites them.
func TestGoldenAlertmanager(t *testing.T) {
	standalone, merged := routings(t)
	golden(t, "alertmanager/alertmanager.yml", standalone.Data)
	golden(t, "alertmanager/alertmanager.merged.yml", merged.Data)
}

// load reads a generated configuration with Alertmanager's own loader.
func load(t *testing.T, data []byte) *amconfig.Config {
	t.Helper()
	c, err := amconfig.Load(string(data))
	if err != nil {
		t.Fatalf("Alertmanager refuses the configuration: %v\n%s", err, data)
	}
	return c
}

// routeOpts are the settings an alert gets from the route it ends on.
type routeOpts struct {
	receiver                         string
	groupBy                          []string
	groupByAll                       bool
	groupWait, groupInterval, repeat time.Duration
	mute                             []string
	depth                            int
}

// matchRoute walks a loaded route tree as Alertmanager's dispatcher does
// (dispatch/route.go: NewRoute and Match, which would pull the whole
// Alertmanager into go.mod): settings pass down except the time
// intervals; the first matching child wins unless it says continue; an
// alert no child takes ends on the route itself. It returns every route
// the alert ends on.
func matchRoute(r *amconfig.Route, ls model.LabelSet, parent routeOpts) []routeOpts {
	o := parent
	o.mute = r.MuteTimeIntervals
	if r.Receiver != "" {
		o.receiver = r.Receiver
	}
	if r.GroupBy != nil {
		o.groupBy, o.groupByAll = nil, false
		for _, l := range r.GroupBy {
			o.groupBy = append(o.groupBy, string(l))
		}
	} else if r.GroupByAll {
		o.groupByAll = true
	}
	for _, d := range []struct {
		from *model.Duration
		to   *time.Duration
	}{{r.GroupWait, &o.groupWait}, {r.GroupInterval, &o.groupInterval}, {r.RepeatInterval, &o.repeat}} {
		if d.from != nil {
			*d.to = time.Duration(*d.from)
		}
	}
	var out []routeOpts
	for _, child := range r.Routes {
		if len(child.Match) > 0 || len(child.MatchRE) > 0 {
			panic("the test's route walker reads matchers only")
		}
		if !amlabels.Matchers(child.Matchers).Matches(ls) {
			continue
		}
		c := o
		c.depth++
		out = append(out, matchRoute(child, ls, c)...)
		if !child.Continue {
			break
		}
	}
	if len(out) == 0 {
		out = []routeOpts{o}
	}
	return out
}

// TestRoutes loads both forms with Alertmanager's loader and asserts which
// receiver each alert reaches, how it is grouped and when it is muted (as
// alertmanager's dispatch/route_test.go does).
func TestRoutes(t *testing.T) {
	standalone, merged := routings(t)
	patch := func(extra ...string) model.LabelSet {
		ls := model.LabelSet{"source": "patchgate", "patch_id": "openssl-3.0.15", "cluster": "eu-west-1"}
		for i := 0; i < len(extra); i += 2 {
			ls[model.LabelName(extra[i])] = model.LabelValue(extra[i+1])
		}
		return ls
	}
	type want struct {
		receiver string
		mute     []string
		repeat   time.Duration
	}
	cases := []struct {
		name       string
		labels     model.LabelSet
		standalone want
		merged     want // zero: as standalone
	}{
		{"page", patch("alertname", "PatchgateRollbackFailed", "severity", "page", "service", "checkout"),
			want{receiver: "patchgate-oncall", repeat: 4 * time.Hour}, want{}},
		{"ticket", patch("alertname", "PatchgateHostPatchFailed", "severity", "ticket", "service", "checkout", "host", "eu-17"),
			want{receiver: "patchgate-ticket", repeat: 24 * time.Hour}, want{}},
		{"expected page of a service with windows of its own", patch("alertname", "PatchgateMassNodeReboot", "severity", "page", "service", "checkout", "expected_in_window", "true"),
			want{receiver: "patchgate-oncall", mute: []string{"patchgate-windows-checkout"}, repeat: 4 * time.Hour}, want{}},
		{"expected page of a service with the top-level windows", patch("alertname", "PatchgateMassNodeReboot", "severity", "page", "service", "payments", "expected_in_window", "true"),
			want{receiver: "patchgate-oncall", mute: []string{"patchgate-windows"}, repeat: 4 * time.Hour}, want{}},
		{"expected page without a service", patch("alertname", "PatchgateMassNodeReboot", "severity", "page", "expected_in_window", "true"),
			want{receiver: "patchgate-oncall", mute: []string{"patchgate-windows"}, repeat: 4 * time.Hour}, want{}},
		{"expected ticket", patch("severity", "ticket", "service", "checkout", "expected_in_window", "true"),
			want{receiver: "patchgate-ticket", mute: []string{"patchgate-windows-checkout"}, repeat: 24 * time.Hour}, want{}},
		{"not patchgate's", model.LabelSet{"alertname": "HighLatency", "severity": "page", "service": "checkout"},
			want{receiver: "patchgate-ticket", repeat: 4 * time.Hour}, want{receiver: "team-default", repeat: 4 * time.Hour}},
		{"the user's own route", model.LabelSet{"alertname": "ReplicationLag", "team": "database", "severity": "page"},
			want{receiver: "patchgate-ticket", repeat: 4 * time.Hour}, want{receiver: "database-oncall", repeat: 4 * time.Hour}},
	}
	for _, form := range []struct {
		name string
		r    Routing
	}{{"standalone", standalone}, {"merged", merged}} {
		t.Run(form.name, func(t *testing.T) {
			c := load(t, form.r.Data)
			defaults := routeOpts{groupWait: 30 * time.Second, groupInterval: 5 * time.Minute, repeat: 4 * time.Hour}
			for _, tc := range cases {
				w := tc.standalone
				if form.name == "merged" && tc.merged.receiver != "" {
					w = tc.merged
				}
				routes := matchRoute(c.Route, tc.labels, defaults)
				if len(routes) != 1 {
					t.Errorf("%s: %d routes match, want 1", tc.name, len(routes))
					continue
				}
				o := routes[0]
				if o.receiver != w.receiver || !slices.Equal(o.mute, w.mute) || o.repeat != w.repeat {
					t.Errorf("%s: receiver %s, mute %v, repeat %v; want %s, %v, %v", tc.name, o.receiver, o.mute, o.repeat, w.receiver, w.mute, w.repeat)
				}
				if tc.labels["source"] == "patchgate" {
					if !slices.Equal(o.groupBy, []string{"patch_id", "cluster", "service"}) || o.groupByAll || o.groupWait != 30*time.Second || o.groupInterval != 5*time.Minute {
						t.Errorf("%s: grouped by %v (all %v), wait %v, interval %v", tc.name, o.groupBy, o.groupByAll, o.groupWait, o.groupInterval)
					}
				}
			}
			// A page inhibits the tickets of its patch, cluster and service.
			var inhibit *amconfig.InhibitRule
			for i := range c.InhibitRules {
				if amlabels.Matchers(c.InhibitRules[i].SourceMatchers).Matches(cases[0].labels) {
					inhibit = &c.InhibitRules[i]
				}
			}
			if inhibit == nil || !amlabels.Matchers(inhibit.TargetMatchers).Matches(cases[1].labels) || amlabels.Matchers(inhibit.TargetMatchers).Matches(cases[0].labels) ||
				!slices.Equal(inhibit.Equal, []string{"patch_id", "cluster", "service"}) {
				t.Errorf("inhibit rules %+v: want a page to inhibit tickets equal in patch_id, cluster and service", c.InhibitRules)
			}
		})
	}
}

// TestMergeKeepsTheUsersConfiguration: everything of the user's file is in
// the merged one as written; patchgate's route comes first.
func TestMergeKeepsTheUsersConfiguration(t *testing.T) {
	_, merged := routings(t)
	data, err := os.ReadFile(userAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	var user, out yaml.MapSlice
	for _, d := range []struct {
		data []byte
		to   *yaml.MapSlice
	}{{data, &user}, {merged.Data, &out}} {
		if err := yaml.UnmarshalWithOptions(d.data, d.to, yaml.UseOrderedMap()); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"global", "templates"} {
		if !sameValue(get(user, key), get(out, key)) {
			t.Errorf("%s changed:\n%v\n%v", key, get(user, key), get(out, key))
		}
	}
	uRoute, oRoute := get(user, "route").(yaml.MapSlice), get(out, "route").(yaml.MapSlice)
	for _, it := range uRoute {
		if it.Key == "routes" {
			continue
		}
		if !sameValue(it.Value, get(oRoute, it.Key.(string))) {
			t.Errorf("root route %s changed: %v → %v", it.Key, it.Value, get(oRoute, it.Key.(string)))
		}
	}
	uRoutes, oRoutes := get(uRoute, "routes").([]any), get(oRoute, "routes").([]any)
	if len(oRoutes) != len(uRoutes)+1 || !isPatchgateRoute(oRoutes[0]) || !sameValue(uRoutes, oRoutes[1:]) {
		t.Errorf("routes: want patchgate's first, then the user's unchanged; got %v", oRoutes)
	}
	for _, key := range []string{"receivers", "inhibit_rules", "time_intervals"} {
		u, o := get(user, key).([]any), get(out, key).([]any)
		if len(o) <= len(u) || !sameValue(u, o[:len(u)]) {
			t.Errorf("%s: the user's are not kept first and unchanged: %v", key, o)
		}
	}
	if !slices.Equal(merged.Receivers, []string{"patchgate-oncall", "patchgate-ticket"}) || len(merged.Replaced) > 0 {
		t.Errorf("receivers %v, replaced %v", merged.Receivers, merged.Replaced)
	}
}

// TestMergeAgain: merging the merged file again changes nothing.
func TestMergeAgain(t *testing.T) {
	_, merged := routings(t)
	again, err := Alertmanager(loadConfig(t, testConfig), &MergeConfig{Name: "alertmanager.yml", Data: merged.Data})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Data, merged.Data) {
		t.Errorf("merging again changed the file:\n%s", again.Data)
	}
	want := []string{"route", "receiver patchgate-oncall", "receiver patchgate-ticket", "inhibit rule", "time interval patchgate-windows-checkout", "time interval patchgate-windows"}
	if !slices.Equal(again.Replaced, want) {
		t.Errorf("replaced %v, want %v", again.Replaced, want)
	}
}

func TestAlertmanagerErrors(t *testing.T) {
	user, err := os.ReadFile(userAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		edit  func(*config.Config)
		merge string // "" stands alone
		want  string
	}{
		{"a receiver the merged file defines otherwise", func(c *config.Config) { c.Alerting.Receivers.Ticket.Name = "team-default" }, string(user),
			`am.yml: receiver "team-default" is already defined there, differently from alerting.receivers.ticket: rename one of them (alerting.receivers.ticket.name), or remove it from am.yml`},
		{"no route", nil, "receivers: [{name: a}]\n", "am.yml: no route: Alertmanager needs a root route with a receiver"},
		{"not a mapping", nil, "- a\n", "am.yml: not an Alertmanager configuration: want a mapping with route and receivers"},
		{"an interval of the same name", nil, "route: {receiver: a}\nreceivers: [{name: a}]\nmute_time_intervals: [{name: patchgate-windows, time_intervals: [{weekdays: [monday]}]}]\n",
			`am.yml: mute_time_intervals already has an interval "patchgate-windows", a name patchgate needs for its patch windows`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConfig(t, testConfig)
			if tc.edit != nil {
				tc.edit(cfg)
			}
			var m *MergeConfig
			if tc.merge != "" {
				m = &MergeConfig{Name: "am.yml", Data: []byte(tc.merge)}
			}
			_, err := Alertmanager(cfg, m)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestSilentReceivers: a receiver without an integration, standing alone
// or named by a merged file that lacks it, is written as a receiver that
// Alertmanager accepts and that notifies nobody; the result and the file's
// header say so. The default configuration generates.
func TestSilentReceivers(t *testing.T) {
	user, err := os.ReadFile(userAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	withoutPage := loadConfig(t, testConfig)
	withoutPage.Alerting.Receivers.Page = config.AlertReceiver{Name: "oncall"}
	cases := []struct {
		name   string
		cfg    *config.Config
		merge  []byte
		silent []Silent
	}{
		{"a page receiver, alone", withoutPage, nil, []Silent{{"oncall", "alerting.receivers.page"}}},
		{"a page receiver the merged file lacks", withoutPage, user, []Silent{{"oncall", "alerting.receivers.page"}}},
		{"the defaults, alone", loadConfig(t, "../testdata/config/minimal.good.yml"), nil,
			[]Silent{{"patchgate-page", "alerting.receivers.page"}, {"patchgate-ticket", "alerting.receivers.ticket"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m *MergeConfig
			if tc.merge != nil {
				m = &MergeConfig{Name: "alertmanager.yml", Data: tc.merge}
			}
			r, err := Alertmanager(tc.cfg, m)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Silent, tc.silent) {
				t.Errorf("silent %v, want %v", r.Silent, tc.silent)
			}
			for _, s := range tc.silent {
				if !bytes.Contains(r.Data, []byte("#   "+s.Name+" ("+s.Field+")\n")) {
					t.Errorf("the header does not name %s:\n%s", s.Name, r.Data)
				}
			}
			c := load(t, r.Data)
			routes := matchRoute(c.Route, model.LabelSet{"source": "patchgate", "severity": "page"}, routeOpts{})
			if len(routes) != 1 || routes[0].receiver != tc.silent[0].Name {
				t.Errorf("a page goes to %v, want %s", routes, tc.silent[0].Name)
			}
		})
	}
	want := `oncall (alerting.receivers.page) has no integration: the alerts routed to it notify nobody; set alerting.receivers.page.webhook, pagerduty, slack, opsgenie or email, or merge into an alertmanager.yml that defines "oncall" (--merge)`
	if got := (Silent{"oncall", "alerting.receivers.page"}).String(); got != want {
		t.Errorf("message %q\nwant %q", got, want)
	}
}

// TestTimesOfDayQuoted: every time of day is written double-quoted,
// patchgate's and the merged file's own: YAML 1.1 readers read an unquoted
// 24:00 as the number 1440.
func TestTimesOfDayQuoted(t *testing.T) {
	user, err := os.ReadFile(userAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	// The user's own interval, written unquoted.
	user = bytes.Replace(user, []byte("end_time: '17:00'"), []byte("end_time: 24:00"), 1)
	cfg := loadConfig(t, testConfig)
	standalone, err := Alertmanager(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Alertmanager(cfg, &MergeConfig{Name: "alertmanager.yml", Data: user})
	if err != nil {
		t.Fatal(err)
	}
	clock := regexp.MustCompile(`(?m)^\s*-?\s*(start_time|end_time):\s*(.*)$`)
	for _, r := range []Routing{standalone, merged} {
		times := clock.FindAllSubmatch(r.Data, -1)
		n24 := 0
		for _, m := range times {
			if !regexp.MustCompile(`^"\d\d:\d\d"$`).Match(m[2]) {
				t.Errorf("%s: %s not double-quoted", m[1], m[2])
			}
			if string(m[2]) == `"24:00"` {
				n24++
			}
		}
		if len(times) < 4 || n24 == 0 {
			t.Errorf("%d times of day, %d of them 24:00; want some of each:\n%s", len(times), n24, r.Data)
		}
	}
}

// TestMergeReusesAReceiver: a receiver patchgate only names is the merged
// file's own.
func TestMergeReusesAReceiver(t *testing.T) {
	cfg := loadConfig(t, testConfig)
	cfg.Alerting.Receivers.Page = config.AlertReceiver{Name: "database-oncall"}
	user, err := os.ReadFile(userAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Alertmanager(cfg, &MergeConfig{Name: "alertmanager.yml", Data: user})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Reused, []string{"database-oncall"}) || !slices.Equal(r.Receivers, []string{"patchgate-ticket"}) {
		t.Errorf("reused %v, wrote %v", r.Reused, r.Receivers)
	}
	c := load(t, r.Data)
	routes := matchRoute(c.Route, model.LabelSet{"source": "patchgate", "severity": "page"}, routeOpts{})
	if len(routes) != 1 || routes[0].receiver != "database-oncall" {
		t.Errorf("a page goes to %v", routes)
	}
}

// TestAmtool runs Debian's amtool (Alertmanager 0.25) over both forms:
// check-config, then `config routes test --verify.receivers` for a page, a
// ticket and an alert that is not patchgate's.
func TestAmtool(t *testing.T) {
	amtool := testenv.Binary(t, "amtool", "prometheus-alertmanager")
	standalone, merged := routings(t)
	dir := t.TempDir()
	for _, form := range []struct {
		name, unmatched string
		r               Routing
	}{{"standalone", "patchgate-ticket", standalone}, {"merged", "team-default", merged}} {
		t.Run(form.name, func(t *testing.T) {
			path := filepath.Join(dir, form.name+".yml")
			if err := os.WriteFile(path, form.r.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(amtool, "check-config", path).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") {
				t.Fatalf("amtool check-config: %v\n%s", err, out)
			}
			for _, tc := range []struct {
				receiver string
				labels   []string
			}{
				{"patchgate-oncall", []string{"source=patchgate", "severity=page", "service=checkout", "cluster=eu-west-1", "patch_id=openssl-3.0.15"}},
				{"patchgate-oncall", []string{"source=patchgate", "severity=page", "service=checkout", "expected_in_window=true"}},
				{"patchgate-ticket", []string{"source=patchgate", "severity=ticket", "service=checkout", "host=eu-17"}},
				{form.unmatched, []string{"alertname=HighLatency", "severity=page", "service=checkout"}},
			} {
				args := append([]string{"config", "routes", "test", "--config.file=" + path, "--verify.receivers=" + tc.receiver}, tc.labels...)
				out, err := exec.Command(amtool, args...).CombinedOutput()
				if err != nil {
					t.Errorf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			// --verify.receivers fails on a wrong receiver: the checks above
			// can fail.
			args := []string{"config", "routes", "test", "--config.file=" + path, "--verify.receivers=patchgate-oncall", "source=patchgate", "severity=ticket"}
			if out, err := exec.Command(amtool, args...).CombinedOutput(); err == nil {
				t.Errorf("amtool %s passed:\n%s", strings.Join(args, " "), out)
			}
		})
	}
}
