package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/testenv"
)

// notification is what Alertmanager posts to a webhook receiver.
type notification struct {
	Receiver    string            `json:"receiver"`
	Status      string            `json:"status"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// webhook records the notifications posted to it, by path.
type webhook struct {
	mu   sync.Mutex
	got  map[string][]notification
	errs []string
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var n notification
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := json.Unmarshal(body, &n); err != nil {
		w.errs = append(w.errs, fmt.Sprintf("%s: %v: %s", r.URL.Path, err, body))
	}
	w.got[r.URL.Path] = append(w.got[r.URL.Path], n)
}

// notifications returns the notifications posted to path whose group has
// the given labels.
func (w *webhook) notifications(path string, group map[string]string) []notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []notification
	for _, n := range w.got[path] {
		match := true
		for k, v := range group {
			match = match && n.GroupLabels[k] == v
		}
		if match {
			out = append(out, n)
		}
	}
	return out
}

// exporter serves the simulated series Prometheus scrapes: node boot times
// from the start, and the incident once the test flips it on.
type exporter struct {
	scrapes  atomic.Int64
	incident atomic.Bool
	now      time.Time
}

func (e *exporter) ServeHTTP(rw http.ResponseWriter, _ *http.Request) {
	e.scrapes.Add(1)
	var b bytes.Buffer
	b.WriteString("# TYPE node_boot_time_seconds gauge\n")
	// Four hosts of each service in ap-south-1; two of each reboot when
	// the incident starts.
	for _, svc := range []string{"checkout", "payments"} {
		for i := range 4 {
			boot := 1.7e9
			if e.incident.Load() && i < 2 {
				boot = float64(e.now.Unix())
			}
			fmt.Fprintf(&b, "node_boot_time_seconds{cluster=\"ap-south-1\",service=%q,instance=\"%s-%d:9100\"} %g\n", svc, svc, i, boot)
		}
	}
	if e.incident.Load() {
		b.WriteString("# TYPE patchgate_fleet_host_status gauge\n")
		// 50 hosts of checkout in eu-west-1 failed to install openssl.
		for i := range 50 {
			fmt.Fprintf(&b, "patchgate_fleet_host_status{cluster=\"eu-west-1\",service=\"checkout\",severity=\"critical\",patch_id=\"openssl-3.0.15\",host=\"eu-%02d\",status=\"failed\"} 1\n", i)
		}
		// kernel's rollout in us-east-1 was rolled back an hour ago, yet 4
		// assets still run it (a page) and 3 hosts failed it (tickets the
		// page must silence).
		for i := range 3 {
			fmt.Fprintf(&b, "patchgate_fleet_host_status{cluster=\"us-east-1\",service=\"checkout\",severity=\"high\",patch_id=\"kernel-6.1.119\",host=\"us-%02d\",status=\"failed\"} 1\n", i)
		}
		b.WriteString("# TYPE patchgate_fleet_assets gauge\n")
		b.WriteString("patchgate_fleet_assets{cluster=\"us-east-1\",service=\"checkout\",severity=\"high\",patch_id=\"kernel-6.1.119\",status=\"patched\"} 4\n")
		b.WriteString("# TYPE patchgate_rollout_rolled_back_timestamp_seconds gauge\n")
		fmt.Fprintf(&b, "patchgate_rollout_rolled_back_timestamp_seconds{service=\"checkout\",cluster=\"us-east-1\",patch_id=\"kernel-6.1.119\"} %d\n", e.now.Add(-time.Hour).Unix())
	}
	rw.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = rw.Write(b.Bytes())
}

// e2eConfig is a configuration whose checkout has a patch window open now
// (in Asia/Kolkata), while the top-level window payments uses is closed.
func e2eConfig(t *testing.T, now time.Time, hook string) *config.Config {
	t.Helper()
	zone, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	window := func(from, to time.Time) string {
		from, to = from.In(zone), to.In(zone)
		return fmt.Sprintf("{weekdays: [%s], start: %q, end: %q, time_zone: Asia/Kolkata}",
			strings.ToLower(from.Weekday().String()[:3]), from.Format("15:04"), to.Format("15:04"))
	}
	src := fmt.Sprintf(`
source: {type: prometheus, url: "http://127.0.0.1:9090"}
controls:
  windows: [%s]
services:
  - name: checkout
    team: payments-platform
    sli:
      errors: sum(rate(http_requests_total{service="checkout",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="checkout"}[{{.window}}]))
    slo: {objective: 99.9}
    stages: [{name: all}]
    controls:
      windows: [%s]
  - name: payments
    team: money
    sli:
      errors: sum(rate(http_requests_total{service="payments",code=~"5.."}[{{.window}}]))
      total: sum(rate(http_requests_total{service="payments"}[{{.window}}]))
    slo: {objective: 99.9}
    stages: [{name: all}]
alerting:
  for: {PatchgateHostPatchFailed: 0s}
  receivers:
    page: {webhook: {url: %q}}
    ticket: {webhook: {url: %q}}
  # group_wait leaves the page and its tickets, from two rule groups
  # evaluated apart, time to both reach Alertmanager before a flush.
  route: {group_wait: 3s, group_interval: 1s, repeat_interval: 1h, ticket_repeat_interval: 1h}
`, window(now.Add(3*time.Hour), now.Add(4*time.Hour)), window(now.Add(-time.Hour), now.Add(time.Hour)), hook+"/page", hook+"/ticket")
	cfg, err := config.Parse("e2e.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startServer starts a server binary, stops it when the test ends, and
// waits (bounded by ctx) until it answers /-/ready.
func startServer(t *testing.T, ctx context.Context, bin, base string, args ...string) {
	t.Helper()
	var logs bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s logs:\n%s", filepath.Base(bin), logs.String())
		}
	})
	waitFor(t, ctx, filepath.Base(bin)+" ready", func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitFor polls cond until it holds or ctx ends (a failure).
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func getJSON(base, path string, into any) error {
	resp, err := http.Get(base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// amAlert is an alert as Alertmanager's API v2 shows it.
type amAlert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// TestEndToEnd runs the generated rules in a real Prometheus over scraped
// simulated series, and the generated (merged) routing in a real
// Alertmanager that notifies this test's webhook: 50 failing hosts of one
// patch and cluster make one notification; a failed rollback's page
// silences the tickets of its patch, cluster and service; a reboot storm
// inside its service's patch window is not delivered, the same storm of a
// service whose window is closed is.
func TestEndToEnd(t *testing.T) {
	promBin := testenv.Binary(t, "prometheus", "prometheus")
	amBin := testenv.Binary(t, "prometheus-alertmanager", "prometheus-alertmanager")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	now := time.Now()
	dir := t.TempDir()

	hook := &webhook{got: map[string][]notification{}}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	exp := &exporter{now: now}
	expSrv := httptest.NewServer(exp)
	defer expSrv.Close()

	// The rules and the routing, merged into a file whose root receiver
	// takes everything else.
	cfg := e2eConfig(t, now, hookSrv.URL)
	res, err := Rules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	name, rules, err := File(res, FileConfig{})
	if err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("route: {receiver: everything-else}\nreceivers:\n- name: everything-else\n  webhook_configs: [{url: %q}]\n", hookSrv.URL+"/default")
	routing, err := Alertmanager(cfg, &MergeConfig{Name: "alertmanager.yml", Data: []byte(user)})
	if err != nil {
		t.Fatal(err)
	}
	amPort, promPort := testenv.FreePort(t), testenv.FreePort(t)
	am := fmt.Sprintf("http://127.0.0.1:%d", amPort)
	prom := fmt.Sprintf("http://127.0.0.1:%d", promPort)
	target, err := url.Parse(expSrv.URL)
	if err != nil {
		t.Fatal(err)
	}
	promCfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%q]
alerting:
  alertmanagers: [{static_configs: [{targets: ["127.0.0.1:%d"]}]}]
scrape_configs:
  - job_name: fleet
    honor_labels: true
    static_configs: [{targets: [%q]}]
`, filepath.Join(dir, name), amPort, target.Host)
	for f, data := range map[string][]byte{name: rules, "alertmanager.yml": routing.Data, "prometheus.yml": []byte(promCfg)} {
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	startServer(t, ctx, amBin, am, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "am"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", amPort), "--cluster.listen-address=")
	startServer(t, ctx, promBin, prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "prom"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))

	// Start the incident once Prometheus has the teams recorded and the
	// old boot times scraped twice.
	waitFor(t, ctx, "the teams recorded and two scrapes", func() bool {
		var r struct {
			Data struct {
				Result []any `json:"result"`
			} `json:"data"`
		}
		err := getJSON(prom, "/api/v1/query?query="+url.QueryEscape(RecordServiceTeam), &r)
		return err == nil && len(r.Data.Result) == 2 && exp.scrapes.Load() >= 2
	})
	exp.incident.Store(true)

	// 50 failing hosts: one ticket notification with all 50 alerts.
	group := map[string]string{"patch_id": "openssl-3.0.15", "cluster": "eu-west-1", "service": "checkout"}
	waitFor(t, ctx, "the notification of the 50 failing hosts", func() bool { return len(hook.notifications("/ticket", group)) > 0 })
	// The failed rollback's page, and the reboot storm of payments, whose
	// patch window is closed.
	rollback := map[string]string{"patch_id": "kernel-6.1.119", "cluster": "us-east-1", "service": "checkout"}
	reboots := map[string]string{"cluster": "ap-south-1", "service": "payments"}
	waitFor(t, ctx, "the page of the failed rollback", func() bool { return len(hook.notifications("/page", rollback)) > 0 })
	waitFor(t, ctx, "the page of payments' reboots", func() bool { return len(hook.notifications("/page", reboots)) > 0 })
	// Alertmanager holds checkout's reboots too (muted, not lost) and the
	// inhibited tickets of the rolled-back rollout.
	waitFor(t, ctx, "Alertmanager to hold checkout's reboots and the inhibited tickets", func() bool {
		var alerts []amAlert
		if err := getJSON(am, "/api/v2/alerts", &alerts); err != nil {
			return false
		}
		reboot, inhibited := false, 0
		for _, a := range alerts {
			l := a.Labels
			if l["alertname"] == "PatchgateMassNodeReboot" && l["service"] == "checkout" {
				reboot = true
			}
			if l["alertname"] == "PatchgateHostPatchFailed" && l["patch_id"] == "kernel-6.1.119" && a.Status.State == "suppressed" && len(a.Status.InhibitedBy) > 0 {
				inhibited++
			}
		}
		return reboot && inhibited == 3
	})
	// Past several group intervals, nothing more arrives for the muted and
	// the inhibited alerts, and the 50 hosts made only one notification.
	time.Sleep(4 * time.Second)

	if n := hook.notifications("/ticket", group); len(n) != 1 || len(n[0].Alerts) != 50 || n[0].Receiver != "patchgate-ticket" {
		t.Errorf("the 50 failing hosts made %d notification(s), want one to patchgate-ticket with 50 alerts: %+v", len(n), n)
	} else {
		hosts := map[string]bool{}
		for _, a := range n[0].Alerts {
			if a.Labels["alertname"] != "PatchgateHostPatchFailed" || a.Status != "firing" || a.Labels["team"] != "payments-platform" {
				t.Errorf("unexpected alert in the group: %s %v", a.Status, a.Labels)
			}
			hosts[a.Labels["host"]] = true
		}
		if len(hosts) != 50 {
			t.Errorf("%d distinct hosts in the notification", len(hosts))
		}
	}
	if n := hook.notifications("/ticket", rollback); len(n) != 0 {
		t.Errorf("the page did not silence the tickets of its patch, cluster and service: %+v", n)
	}
	page := hook.notifications("/page", rollback)
	if len(page[0].Alerts) != 1 || page[0].Alerts[0].Labels["alertname"] != "PatchgateRollbackFailed" {
		t.Errorf("page of the rollback: %+v", page[0])
	}
	if n := hook.notifications("/page", map[string]string{"cluster": "ap-south-1", "service": "checkout"}); len(n) != 0 {
		t.Errorf("checkout's reboots, inside its patch window, were delivered: %+v", n)
	}
	if n := hook.notifications("/page", reboots); n[0].Alerts[0].Labels["expected_in_window"] != "true" {
		t.Errorf("payments' reboots: %+v", n[0])
	}
	if n := hook.notifications("/default", nil); len(n) != 0 {
		t.Errorf("patchgate's alerts reached the root receiver: %+v", n)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if len(hook.errs) > 0 {
		t.Errorf("webhook: %v", hook.errs)
	}
	var paths []string
	for p, ns := range hook.got {
		paths = append(paths, fmt.Sprintf("%s: %d", p, len(ns)))
	}
	slices.Sort(paths)
	t.Logf("notifications: %s", strings.Join(paths, ", "))
}
