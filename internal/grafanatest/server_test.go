package grafanatest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// call sends one request with a bearer token ("" for none) and returns the
// status and the decoded JSON answer.
func call(t *testing.T, s *Server, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestRejectsWhatGrafanaRejects(t *testing.T) {
	s := New(t)
	s.AddToken("viewer-token", Viewer)
	if code, _ := call(t, s, Token, "POST", "/api/folders", `{"uid":"pg","title":"patchgate"}`); code != 200 {
		t.Fatalf("create folder: %d", code)
	}
	if code, _ := call(t, s, Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg-one","title":"One"},"folderUid":"pg"}`); code != 200 {
		t.Fatalf("create dashboard: %d", code)
	}
	long := strings.Repeat("a", 41)
	cases := []struct {
		name, token, method, path, body string
		status                          int
		message                         string
	}{
		{"no token", "", "GET", "/api/folders", "", 401, "Unauthorized"},
		{"wrong token", "nope", "GET", "/api/folders", "", 401, "Invalid API key"},
		{"viewer writes", "viewer-token", "POST", "/api/annotations", `{"text":"x"}`, 403, "You'll need additional permissions"},
		{"viewer reads", "viewer-token", "GET", "/api/folders/pg", "", 200, ""},
		{"list folders", "viewer-token", "GET", "/api/folders", "", 200, ""},
		{"empty title", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg-x","title":"  "}}`, 400, "Dashboard title cannot be empty"},
		{"uid too long", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"` + long + `","title":"X"}}`, 400, "uid too long, max 40 characters"},
		{"uid 40 long", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"` + long[:40] + `","title":"Forty"}}`, 200, ""},
		{"uid illegal", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg.slo","title":"X"}}`, 400, "uid contains illegal characters"},
		{"folder uid illegal", Token, "POST", "/api/folders", `{"uid":"a/b","title":"X"}`, 400, "uid contains illegal characters"},
		{"folder empty title", Token, "POST", "/api/folders", `{"uid":"f2","title":""}`, 400, "folder title cannot be empty"},
		{"folder exists", Token, "POST", "/api/folders", `{"uid":"pg","title":"other"}`, 409, "a folder with the same uid already exists"},
		{"unknown folder", Token, "GET", "/api/folders/nope", "", 404, "folder not found"},
		{"dashboard in unknown folder", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg-y","title":"Y"},"folderUid":"nope"}`, 400, "folder not found"},
		{"version conflict", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg-one","title":"One","version":7},"folderUid":"pg"}`, 412, "The dashboard has been changed by someone else"},
		{"no version, exists", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg-one","title":"One"},"folderUid":"pg"}`, 412, "The dashboard has been changed by someone else"},
		{"overwrite", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg-one","title":"One","version":7},"folderUid":"pg","overwrite":true}`, 200, ""},
		{"same version", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg-one","title":"One","version":2},"folderUid":"pg"}`, 200, ""},
		{"same name in folder", Token, "POST", "/api/dashboards/db", `{"dashboard":{"uid":"pg-two","title":"one"},"folderUid":"pg"}`, 412, "A dashboard with the same name in the folder already exists"},
		{"unknown dashboard", Token, "GET", "/api/dashboards/uid/nope", "", 404, "Dashboard not found"},
		{"unknown id", Token, "POST", "/api/dashboards/db", `{"dashboard":{"id":99,"uid":"pg-z","title":"Z"}}`, 404, "Dashboard not found"},
		{"annotation without text", Token, "POST", "/api/annotations", `{"dashboardUID":"pg-one","tags":["a"]}`, 400, "Failed to save annotation"},
		{"annotation", Token, "POST", "/api/annotations", `{"dashboardUID":"pg-one","time":1000,"tags":["a"],"text":"hello"}`, 200, "Annotation added"},
		{"health without token", "", "GET", "/api/health", "", 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := call(t, s, tc.token, tc.method, tc.path, tc.body)
			if code != tc.status {
				t.Fatalf("status %d (%v), want %d", code, out, tc.status)
			}
			if msg, _ := out["message"].(string); !strings.HasPrefix(msg, tc.message) {
				t.Errorf("message %q, want %q", msg, tc.message)
			}
		})
	}
	_, version, folder, ok := s.Dashboard("pg-one")
	if !ok || version != 3 || folder != "pg" {
		t.Errorf("pg-one: version %d in folder %q (found %v), want version 3 in pg", version, folder, ok)
	}
	if got := s.Annotations(); len(got) != 1 || got[0].Text != "hello" || got[0].DashboardUID != "pg-one" {
		t.Errorf("annotations: %+v", got)
	}
}

func TestGetDashboardReturnsWhatWasSaved(t *testing.T) {
	s := New(t)
	body := `{"dashboard":{"uid":"pg-a","title":"A","panels":[{"id":1,"type":"stat"}],"version":0}}`
	if code, out := call(t, s, Token, "POST", "/api/dashboards/db", body); code != 200 || out["version"].(float64) != 1 {
		t.Fatalf("save: %d %v", code, out)
	}
	code, out := call(t, s, Token, "GET", "/api/dashboards/uid/pg-a", "")
	if code != 200 {
		t.Fatalf("get: %d", code)
	}
	d := out["dashboard"].(map[string]any)
	meta := out["meta"].(map[string]any)
	if d["title"] != "A" || d["uid"] != "pg-a" || d["version"].(float64) != 1 || meta["version"].(float64) != 1 {
		t.Errorf("dashboard %v meta %v", d, meta)
	}
	if panels := d["panels"].([]any); len(panels) != 1 {
		t.Errorf("panels %v", panels)
	}
	s.EditDashboard("pg-a", func(m map[string]any) { m["title"] = "A edited" })
	_, out = call(t, s, Token, "GET", "/api/dashboards/uid/pg-a", "")
	if d := out["dashboard"].(map[string]any); d["title"] != "A edited" || d["version"].(float64) != 2 {
		t.Errorf("after edit: %v", d)
	}
}

func TestFailuresAndOutage(t *testing.T) {
	s := New(t)
	s.FailNext(2, 503)
	s.FailNext(1, 429)
	for _, want := range []int{503, 503, 429, 200} {
		if code, _ := call(t, s, Token, "GET", "/api/health", ""); code != want {
			t.Fatalf("status %d, want %d", code, want)
		}
	}
	s.SetDown(true)
	if _, err := http.Get(s.URL + "/api/health"); err == nil {
		t.Fatal("request to a server that is down succeeded")
	}
	s.SetDown(false)
	if code, _ := call(t, s, Token, "GET", "/api/health", ""); code != 200 {
		t.Fatalf("after coming back: %d", code)
	}
	reqs := s.Requests()
	if len(reqs) < 6 {
		t.Fatalf("%d requests recorded, want at least 6", len(reqs))
	}
	if got := reqs[len(reqs)-1]; got.Status != 200 || got.Path != "/api/health" || got.Auth != "Bearer "+Token {
		t.Errorf("last request recorded as %+v", got)
	}
	if got := reqs[2]; got.Status != 429 {
		t.Errorf("third request recorded with status %d, want 429", got.Status)
	}
}

func TestHangUntilRelease(t *testing.T) {
	s := New(t)
	s.Hang()
	done := make(chan int)
	go func() {
		resp, err := http.Get(s.URL + "/api/health")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	// The request is received but not answered.
	for len(s.Requests()) == 0 {
		select {
		case code := <-done:
			t.Fatalf("answered %d while hanging", code)
		case <-time.After(time.Millisecond):
		}
	}
	s.Release()
	if code := <-done; code != 200 {
		t.Fatalf("after release: %d", code)
	}
}
