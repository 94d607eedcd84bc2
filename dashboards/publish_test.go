package dashboards

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchgate/patchgate/internal/grafanatest"
)

// fastRetry keeps the tests' retries short.
var fastRetry = RetryPolicy{Attempts: 4, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}

func newClient(t *testing.T, url, token string) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{URL: url, Token: token, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var testFolder = Folder{UID: "pg", Title: "Patch rollouts"}

func TestPublishIsIdempotent(t *testing.T) {
	g := grafanatest.New(t)
	c := newClient(t, g.URL, grafanatest.Token)
	ds := build(t)
	ctx := context.Background()

	first, err := Publish(ctx, c, testFolder, ds)
	if err != nil {
		t.Fatal(err)
	}
	if !first.FolderCreated || first.Summary() != "5 dashboards: folder created, 5 created" {
		t.Errorf("first publish: %s", first.Summary())
	}
	if f := g.Folders(); len(f) != 1 || f[0].UID != "pg" || f[0].Title != "Patch rollouts" {
		t.Errorf("folders %+v", f)
	}
	for _, d := range ds {
		model, version, folder, ok := g.Dashboard(d.UID)
		if !ok || version != 1 || folder != "pg" || model["title"] != d.Title {
			t.Errorf("%s: stored %v, version %d, folder %q", d.UID, ok, version, folder)
		}
	}

	g.ResetRequests()
	second, err := Publish(ctx, c, testFolder, ds)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Summary(); got != "5 dashboards unchanged" {
		t.Errorf("second publish: %s", got)
	}
	for _, r := range g.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("second publish sent %s %s", r.Method, r.Path)
		}
	}

	// Someone edits the on-call dashboard in Grafana: the next publish
	// puts it back, and only it.
	g.EditDashboard("pg-oncall", func(m map[string]any) { m["title"] = "edited by hand" })
	third, err := Publish(ctx, c, testFolder, ds)
	if err != nil {
		t.Fatal(err)
	}
	if got := third.Summary(); got != "5 dashboards: 1 updated, 4 unchanged" {
		t.Errorf("third publish: %s", got)
	}
	model, version, _, _ := g.Dashboard("pg-oncall")
	if model["title"] != "patchgate: on-call" || version != 3 {
		t.Errorf("pg-oncall after update: title %v, version %d", model["title"], version)
	}
}

func TestPublishRetries(t *testing.T) {
	cases := []struct {
		status, n int
	}{
		{503, 3},
		{500, 1},
		{429, 2},
		{502, 3},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			g := grafanatest.New(t)
			c := newClient(t, g.URL, grafanatest.Token)
			g.FailNext(tc.n, tc.status)
			res, err := Publish(context.Background(), c, testFolder, build(t))
			if err != nil {
				t.Fatalf("publish with %d × %d: %v", tc.n, tc.status, err)
			}
			if got := len(res.Dashboards); got != 5 {
				t.Fatalf("%d dashboards published", got)
			}
			reqs := g.Requests()
			for i := 0; i < tc.n; i++ {
				if reqs[i].Status != tc.status || reqs[i].Path != reqs[0].Path {
					t.Errorf("request %d: %s %d, want the same request answered %d", i, reqs[i].Path, reqs[i].Status, tc.status)
				}
			}
			if reqs[tc.n].Path != reqs[0].Path || reqs[tc.n].Status >= 400 && reqs[tc.n].Status != 404 {
				t.Errorf("retry %s answered %d", reqs[tc.n].Path, reqs[tc.n].Status)
			}
		})
	}
}

func TestPublishRetriesAreBounded(t *testing.T) {
	g := grafanatest.New(t)
	c := newClient(t, g.URL, grafanatest.Token)
	g.FailNext(100, 502)
	_, err := Publish(context.Background(), c, testFolder, build(t))
	var gErr *Error
	if !errors.As(err, &gErr) || gErr.Status != 502 || !gErr.Temporary() {
		t.Fatalf("error %v, want a temporary 502", err)
	}
	if want := "grafana: read folder pg: GET /api/folders/pg: 502 Bad Gateway after 4 attempt(s): Bad Gateway"; err.Error() != want {
		t.Errorf("error %q\nwant  %q", err, want)
	}
	if n := len(g.Requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestPublishErrors(t *testing.T) {
	ctx := context.Background()
	// conflict publishes once, then has someone save the dashboard in
	// Grafana between publish's read and its write.
	conflict := func(t *testing.T, g *grafanatest.Server) {
		if _, err := Publish(ctx, newClient(t, g.URL, grafanatest.Token), testFolder, build(t)); err != nil {
			t.Fatal(err)
		}
		g.EditDashboard("pg-executive", func(m map[string]any) { m["refresh"] = "1h" })
		g.Intercept(func(method, path string) {
			if method == http.MethodPost && path == "/api/dashboards/db" {
				g.EditDashboard("pg-executive", func(m map[string]any) { m["refresh"] = "5m" })
			}
		})
	}
	// sameTitle has another dashboard in the folder with the debug one's
	// title.
	sameTitle := func(t *testing.T, g *grafanatest.Server) {
		c := newClient(t, g.URL, grafanatest.Token)
		if err := c.createFolder(ctx, "pg", "Patch rollouts"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.saveDashboard(ctx, map[string]any{"uid": "someone-elses", "title": "patchgate: debug"}, "pg", 0, ""); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		token  string
		setup  func(t *testing.T, g *grafanatest.Server)
		status int
		want   string
	}{
		{"wrong token", "not-a-token", nil, 401,
			"grafana: read folder pg: 401 Unauthorized (Invalid API key): Grafana refused the token: set GRAFANA_TOKEN (or grafana.token_env / token_file) to a valid service account token"},
		{"viewer token", "viewer-token", nil, 403,
			"grafana: create folder \"Patch rollouts\" (uid pg): 403 Forbidden"},
		{"changed in between", grafanatest.Token, conflict, 412,
			"grafana: save dashboard pg-executive: 412 Precondition Failed (The dashboard has been changed by someone else): the dashboard changed in Grafana while patchgate was publishing it; run publish again"},
		{"title taken", grafanatest.Token, sameTitle, 412,
			"grafana: save dashboard pg-debug: 412 Precondition Failed (A dashboard with the same name in the folder already exists): another dashboard in the folder has the same title: rename or move it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := grafanatest.New(t)
			g.AddToken("viewer-token", grafanatest.Viewer)
			if tc.setup != nil {
				tc.setup(t, g)
			}
			g.ResetRequests()
			_, err := Publish(ctx, newClient(t, g.URL, tc.token), testFolder, build(t))
			var gErr *Error
			if !errors.As(err, &gErr) || gErr.Status != tc.status || gErr.Temporary() {
				t.Fatalf("error %v, want a %d refusal", err, tc.status)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q\nwant  %q", err, tc.want)
			}
			// A refusal is not retried.
			reqs := g.Requests()
			if last := reqs[len(reqs)-1]; last.Status != tc.status {
				t.Errorf("last request answered %d", last.Status)
			}
			for i := 1; i < len(reqs); i++ {
				if reqs[i].Status == tc.status && reqs[i-1].Status == tc.status && reqs[i].Path == reqs[i-1].Path {
					t.Errorf("%s retried after %d", reqs[i].Path, tc.status)
				}
			}
		})
	}
}

func TestPublishGrafanaDown(t *testing.T) {
	g := grafanatest.New(t)
	g.SetDown(true)
	_, err := Publish(context.Background(), newClient(t, g.URL, grafanatest.Token), testFolder, build(t))
	var gErr *Error
	if !errors.As(err, &gErr) || gErr.Status != 0 || !gErr.Temporary() {
		t.Fatalf("error %v, want Grafana unavailable", err)
	}
	if !strings.Contains(err.Error(), "GET /api/folders/pg: no answer after 4 attempt(s)") {
		t.Errorf("error %q", err)
	}
	if n := len(g.Requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestPublishStopsWithContext(t *testing.T) {
	g := grafanatest.New(t)
	g.FailNext(100, 503)
	c, err := NewClient(ClientConfig{URL: g.URL, Token: grafanatest.Token, Retry: RetryPolicy{Attempts: 10, Backoff: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.Intercept(func(string, string) { cancel() })
	_, err = Publish(ctx, c, testFolder, build(t))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := len(g.Requests()); n != 1 {
		t.Errorf("%d requests after the context ended, want 1", n)
	}
}

// countingTransport counts the requests of the http.Client given to NewClient.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestClientUsesTheGivenHTTPClient(t *testing.T) {
	g := grafanatest.New(t)
	ct := &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
	hc := &http.Client{Transport: ct}
	before := http.DefaultTransport.(*http.Transport).TLSClientConfig
	c, err := NewClient(ClientConfig{URL: g.URL + "/", Token: grafanatest.Token, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	version, err := c.Health(context.Background())
	if err != nil || version != "11.3.0" {
		t.Fatalf("health: %q, %v", version, err)
	}
	if ct.n.Load() != 1 {
		t.Errorf("the given client sent %d requests, want 1", ct.n.Load())
	}
	if hc.Transport != ct {
		t.Error("NewClient changed the given http.Client")
	}
	if http.DefaultTransport.(*http.Transport).TLSClientConfig != before {
		t.Error("NewClient changed http.DefaultTransport")
	}
	if r := g.Requests(); r[0].Path != "/api/health" {
		t.Errorf("health asked at %s", r[0].Path)
	}
}

func TestNewClientRefusesBadConfig(t *testing.T) {
	cases := []struct {
		cfg  ClientConfig
		want string
	}{
		{ClientConfig{Token: "t"}, "a Grafana URL is required"},
		{ClientConfig{URL: "grafana:3000", Token: "t"}, `must be an http or https URL such as http://grafana:3000, got "grafana:3000"`},
		{ClientConfig{URL: "http://grafana:3000"}, "a Grafana token is required"},
	}
	for _, tc := range cases {
		if _, err := NewClient(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewClient(%+v): %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestClientUnderAPath(t *testing.T) {
	g := grafanatest.New(t)
	// Grafana served under a sub-path: the contract server answers under
	// /api only, so a request to /grafana/api/... is a 404 proving the path.
	c := newClient(t, g.URL+"/grafana", grafanatest.Token)
	if _, err := c.Health(context.Background()); err == nil {
		t.Fatal("health under /grafana succeeded on a server without the prefix")
	}
	if r := g.Requests(); len(r) != 1 || r[0].Path != "/grafana/api/health" {
		t.Errorf("requests %+v, want /grafana/api/health", r)
	}
}

func TestSameDashboard(t *testing.T) {
	built := map[string]any{"uid": "a", "title": "A", "panels": []any{map[string]any{"id": 1.0, "value": nil}}}
	cases := []struct {
		name   string
		stored map[string]any
		same   bool
	}{
		{"as built, with id and version", map[string]any{"id": 7.0, "version": 3.0, "uid": "a", "title": "A", "panels": []any{map[string]any{"id": 1.0, "value": nil}}}, true},
		{"nulls dropped", map[string]any{"uid": "a", "title": "A", "panels": []any{map[string]any{"id": 1.0}}}, true},
		{"title edited", map[string]any{"uid": "a", "title": "B", "panels": []any{map[string]any{"id": 1.0}}}, false},
		{"panel id changed", map[string]any{"uid": "a", "title": "A", "panels": []any{map[string]any{"id": 2.0}}}, false},
		{"field added", map[string]any{"uid": "a", "title": "A", "refresh": "1m", "panels": []any{map[string]any{"id": 1.0}}}, false},
	}
	for _, tc := range cases {
		if got := sameDashboard(tc.stored, built); got != tc.same {
			t.Errorf("%s: same = %v, want %v", tc.name, got, tc.same)
		}
	}
}
