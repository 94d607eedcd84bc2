package server

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/patchgate/patchgate/internal/store"
	"github.com/patchgate/patchgate/internal/testenv"
)

// Bounds of the browser tests: every wait, and the whole session.
const (
	browserStep    = 45 * time.Second
	browserSession = 4 * time.Minute
)

// newBrowser starts headless Chromium with a fresh profile and nothing
// that talks to the internet.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := testenv.Binary(t, "chromium", "chromium")
	// The whole session is bounded; each step is bounded again below.
	session, cancelSession := context.WithTimeout(context.Background(), browserSession)
	alloc, cancelAlloc := chromedp.NewExecAllocator(session,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelSession()
	})
	// The first action starts the browser and binds it to ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// consoleLog collects what the pages write to the console: calls of the
// console API, uncaught exceptions and the browser's log (failed loads,
// Content-Security-Policy violations).
type consoleLog struct {
	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *consoleLog {
	l := &consoleLog{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.messages = append(l.messages, m)
			l.mu.Unlock()
		}
	}()
	return l
}

// problems returns the errors, warnings and exceptions logged from the
// n-th message on.
func (l *consoleLog) problems(from int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.messages[min(from, len(l.messages)):] {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
			out = append(out, m.String()+" ("+m.URL+")")
		}
	}
	return out
}

func (l *consoleLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.messages)
}

// step runs actions with a bounded wait.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// boxes returns the rendered width and height of every element the CSS
// selector matches (none when there is none).
func boxes(t *testing.T, ctx context.Context, selector string) [][2]int64 {
	t.Helper()
	nodes := run(t, ctx, "finding "+selector, chromedp.Nodes(chromedp.CSSAll(selector), chromedp.AtLeast(0)))
	var out [][2]int64
	sctx, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	for _, n := range nodes {
		res, err := chromedp.Call(sctx, dom.GetBoxModel, dom.GetBoxModelParams{NodeID: n.NodeID})
		if err != nil {
			t.Fatalf("box of %s: %v", selector, err)
		}
		out = append(out, [2]int64{res.Model.Width, res.Model.Height})
	}
	return out
}

// artifactDir is where browser tests leave screenshots: $PATCHGATE_ARTIFACTS
// when set, else a folder of the test's temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PATCHGATE_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowser signs in and opens every page of the UI and the coverage
// report in headless Chromium with JavaScript switched off: each loads
// without console errors, the no_go decision shows its failing check, the
// report's charts are drawn; a screenshot of the report is kept.
func TestBrowser(t *testing.T) {
	ctx := newBrowser(t)
	s := newUIServer(t)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)

	artifacts := artifactDir(t)
	t.Logf("screenshots of every page go to %s", artifacts)
	console := watchConsole(ctx)
	// The pages must work without JavaScript.
	noScript, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	if _, err := chromedp.Call(noScript, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}

	// Signing in: the first page sends the browser to the form; the token
	// is typed once and the browser comes back to the page.
	step(t, ctx, "opening the UI", chromedp.Navigate(ts.URL+"/ui/history?service=checkout"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc := run(t, ctx, "location", chromedp.Location()); !strings.HasPrefix(loc, ts.URL+"/ui/login?next=") {
		t.Fatalf("not sent to sign in: at %s", loc)
	}
	step(t, ctx, "signing in",
		chromedp.SendKeys(chromedp.ID("token"), ciToken),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("history")))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != ts.URL+"/ui/history?service=checkout" {
		t.Errorf("after signing in at %s, want the page first asked for", loc)
	}
	if strings.Contains(run(t, ctx, "location", chromedp.Location()), ciToken) {
		t.Error("the token is in the URL")
	}

	pages := []struct {
		path, ready string
	}{
		{"/ui/", "rollouts-active"},
		{"/ui/decisions/" + decKernelNoGo, "checks"},
		{"/ui/decisions/" + decGlibc100, "override"},
		{"/ui/history?service=payments", "history"},
		{"/ui/overrides", "overrides"},
		{"/reports/coverage?format=html&period=30d", "trends"},
	}
	for _, p := range pages {
		t.Run(strings.TrimPrefix(p.path, "/"), func(t *testing.T) {
			from := console.len()
			resp := run(t, ctx, "loading "+p.path, chromedp.NavigateResponse(ts.URL+p.path))
			if resp.Status != 200 {
				t.Fatalf("status %d", resp.Status)
			}
			step(t, ctx, "waiting for #"+p.ready, chromedp.WaitVisible(chromedp.ID(p.ready)))
			// Console events arrive asynchronously: a round trip after the
			// load lets those of the page come in first.
			run(t, ctx, "title", chromedp.Title())
			if ps := console.problems(from); len(ps) > 0 {
				t.Errorf("console: %s", strings.Join(ps, "; "))
			}
			shot := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
			path := filepath.Join(artifacts, strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-").Replace(strings.Trim(p.path, "/"))+".png")
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("no_go decision shows its failing check", func(t *testing.T) {
		step(t, ctx, "loading", chromedp.Navigate(ts.URL+"/ui/decisions/"+decKernelNoGo),
			chromedp.WaitVisible(chromedp.CSS("tr.check-fail#check-error_delta")))
		text := run(t, ctx, "failing check", chromedp.Text(chromedp.ID("check-error_delta")))
		for _, want := range []string{"error_delta", "fail", "2.302", "0.5", "+2.30 pp, beyond the 0.5 pp margin"} {
			if !strings.Contains(text, want) {
				t.Errorf("failing check row %q lacks %q", text, want)
			}
		}
		if v := run(t, ctx, "verdict", chromedp.Text(chromedp.ID("verdict"))); v != "NO GO" {
			t.Errorf("verdict %q", v)
		}
	})

	t.Run("report charts are drawn", func(t *testing.T) {
		step(t, ctx, "loading", chromedp.Navigate(ts.URL+"/reports/coverage"), chromedp.WaitVisible(chromedp.ID("trends")))
		charts := boxes(t, ctx, "svg.chart")
		if len(charts) != 4 {
			t.Fatalf("%d charts, want 4", len(charts))
		}
		for i, b := range charts {
			if b[0] < 200 || b[1] < 50 {
				t.Errorf("chart %d is %dx%d px: not visible", i+1, b[0], b[1])
			}
		}
		if lines := boxes(t, ctx, "svg.chart path"); len(lines) < 10 {
			t.Errorf("%d paths in the charts: lines missing", len(lines))
		}
		shot := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
		path := filepath.Join(artifacts, "coverage-report.png")
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of the coverage report: %s (%d bytes)", path, len(shot))
	})
}

// TestBrowserApproval approves a stage from the decision page in headless
// Chromium with JavaScript off: the form posts with its CSRF token, the
// override is stored in the signed-in person's name and listed. The
// decision page and the approval are kept as screenshots.
func TestBrowserApproval(t *testing.T) {
	ctx := newBrowser(t)
	s := newUIServer(t, withOncall, func(c *Config) { c.UI.Series = &fakeSeries{} })
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	artifacts := artifactDir(t)
	console := watchConsole(ctx)
	noScript, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	if _, err := chromedp.Call(noScript, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		png := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
		path := filepath.Join(artifacts, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", path, len(png))
	}

	step(t, ctx, "signing in",
		chromedp.Navigate(ts.URL+"/ui/decisions/"+decKernelNoGo), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), oncallToken),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("override-form")))
	for _, b := range boxes(t, ctx, "svg.chart") {
		if b[0] < 200 || b[1] < 100 {
			t.Errorf("a chart is %dx%d px: not visible", b[0], b[1])
		}
	}
	if n := len(boxes(t, ctx, "svg.chart polyline")); n != 5 {
		t.Errorf("%d lines in the charts, want 5", n)
	}
	shot("decision-page.png")

	from := console.len()
	step(t, ctx, "approving",
		chromedp.SendKeys(chromedp.ID("override-reason"), "CAB-77 accepted the risk"),
		chromedp.SetValue(chromedp.ID("override-ttl"), "1d"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("overrides")))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != ts.URL+"/ui/overrides" {
		t.Errorf("after approving at %s", loc)
	}
	text := run(t, ctx, "overrides", chromedp.Text(chromedp.ID("overrides")))
	for _, want := range []string{"payments", "kernel-6.1.119", "canary", "GO", "CAB-77 accepted the risk", "oncall"} {
		if !strings.Contains(text, want) {
			t.Errorf("overrides table %q lacks %q", text, want)
		}
	}
	if ps := console.problems(from); len(ps) > 0 {
		t.Errorf("console: %s", strings.Join(ps, "; "))
	}
	shot("approval.png")
	stored, err := s.store.ListOverrides(context.Background(), store.ControlFilter{Service: "payments", InForceAt: uiNow})
	if err != nil || len(stored) != 1 || stored[0].Actor != "oncall" || stored[0].Verdict != "go" || !stored[0].ExpiresAt.Equal(uiNow.Add(24*time.Hour)) {
		t.Errorf("stored overrides %+v, %v", stored, err)
	}
}
