// Package grafanatest is a contract test server for the part of Grafana's
// HTTP API that patchgate uses: health, folders, dashboards by uid and
// annotations. It keeps its state in memory, answers as Grafana does
// (status codes and JSON shapes of Grafana 10 to 12), refuses what Grafana
// refuses, records every request, and can be told to fail, hang or go down.
//
// No Grafana server can be installed where patchgate's tests run, so this
// server is the contract: what it rejects is what Grafana rejects, with the
// messages Grafana gives (pkg/api/dashboard.go, pkg/api/folder.go,
// pkg/api/annotations.go and pkg/services/dashboards/errors.go).
package grafanatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Role is what a token may do, as Grafana's organisation roles.
type Role string

const (
	Viewer Role = "Viewer" // reads only: writes answer 403
	Editor Role = "Editor" // creates folders, dashboards and annotations
	Admin  Role = "Admin"
)

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	// Auth is the Authorization header as sent.
	Auth string
	Body []byte
	// Status is the answer's status code; 0 when the connection was
	// dropped (down) or the request was still hanging at Close.
	Status int
}

// Annotation is one stored annotation.
type Annotation struct {
	ID           int64    `json:"id"`
	DashboardUID string   `json:"dashboardUID"`
	PanelID      int64    `json:"panelId"`
	Time         int64    `json:"time"`
	TimeEnd      int64    `json:"timeEnd"`
	Tags         []string `json:"tags"`
	Text         string   `json:"text"`
}

// Folder is one stored folder.
type Folder struct {
	ID    int64  `json:"id"`
	UID   string `json:"uid"`
	Title string `json:"title"`
}

type dashboard struct {
	id        int64
	folderUID string
	version   int64
	// model is the dashboard JSON as stored: as posted, with id, uid
	// and version set by the server.
	model map[string]any
}

// Server is a running contract server.
type Server struct {
	// URL is the server's root, e.g. http://127.0.0.1:41234 (the API is
	// under /api).
	URL string
	ts  *httptest.Server

	mu          sync.Mutex
	tokens      map[string]Role
	folders     map[string]*Folder
	dashboards  map[string]*dashboard
	annotations []Annotation
	requests    []Request
	nextID      int64
	failures    []failure
	down        bool
	hang        chan struct{} // closed to release hanging requests; nil when not hanging
	intercept   func(method, path string)
}

type failure struct {
	status int
	left   int
}

// Token is the Editor token every new server accepts.
const Token = "glsa_patchgate_contract_test_token"

// New starts a server that accepts Token with the Editor role; it is
// closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		tokens:     map[string]Role{Token: Editor},
		folders:    map[string]*Folder{},
		dashboards: map[string]*dashboard{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL
	t.Cleanup(s.Close)
	return s
}

// Close releases hanging requests and stops the server.
func (s *Server) Close() {
	s.Release()
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// AddToken makes the server accept token with role.
func (s *Server) AddToken(token string, role Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = role
}

// FailNext makes the next n requests, of any endpoint, answer status
// (e.g. 500, 503 or 429) without doing anything. Calls queue up.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{status: status, left: n})
}

// SetDown takes the server down (every connection is closed without an
// answer, as when Grafana is unreachable) or brings it back up.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Hang makes every request wait without an answer until Release (or
// Close), as a Grafana that accepts connections but never responds.
func (s *Server) Hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang == nil {
		s.hang = make(chan struct{})
	}
}

// Release answers the hanging requests and stops hanging.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hang != nil {
		close(s.hang)
		s.hang = nil
	}
}

// Intercept calls f before each request is handled (nil to stop), e.g.
// to change a dashboard between a client's read and its write.
func (s *Server) Intercept(f func(method, path string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intercept = f
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetRequests forgets the requests received so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Annotations returns the stored annotations, oldest first.
func (s *Server) Annotations() []Annotation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Annotation(nil), s.annotations...)
}

// Folders returns the stored folders by uid.
func (s *Server) Folders() []Folder {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Folder
	for _, f := range s.folders {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Dashboard returns a copy of the stored dashboard with uid, its version
// and its folder's uid.
func (s *Server) Dashboard(uid string) (model map[string]any, version int64, folderUID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dashboards[uid]
	if !ok {
		return nil, 0, "", false
	}
	return clone(d.model), d.version, d.folderUID, true
}

// EditDashboard changes a stored dashboard as a user saving it in
// Grafana's UI would: f edits the model, the version goes up.
func (s *Server) EditDashboard(uid string, f func(model map[string]any)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dashboards[uid]
	if !ok {
		return false
	}
	f(d.model)
	d.version++
	d.model["version"] = d.version
	return true
}

// statusRecorder keeps the status code written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := len(s.requests)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body})
	down, hang, intercept := s.down, s.hang, s.intercept
	s.mu.Unlock()

	if down {
		drop(w)
		return
	}
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	if intercept != nil {
		intercept(r.Method, r.URL.Path)
	}
	rec := &statusRecorder{ResponseWriter: w}
	s.handle(rec, r, body)
	s.mu.Lock()
	s.requests[i].Status = rec.status
	s.mu.Unlock()
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("grafanatest: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status, ok := s.injectedFailure(); ok {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, status, map[string]any{"message": http.StatusText(status)})
		return
	}

	path := r.URL.Path
	if r.Method == http.MethodGet && path == "/api/health" {
		// Unauthenticated in Grafana.
		writeJSON(w, http.StatusOK, map[string]any{"commit": "contract", "database": "ok", "version": "11.3.0"})
		return
	}
	role, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	write := r.Method != http.MethodGet
	if write && role == Viewer {
		writeJSON(w, http.StatusForbidden, map[string]any{
			"message": "You'll need additional permissions to perform this action. Permissions needed: any of dashboards:write, folders:create, annotations:create",
		})
		return
	}
	switch {
	case r.Method == http.MethodGet && path == "/api/folders":
		s.listFolders(w)
	case r.Method == http.MethodPost && path == "/api/folders":
		s.createFolder(w, body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/folders/"):
		s.getFolder(w, strings.TrimPrefix(path, "/api/folders/"))
	case r.Method == http.MethodPost && path == "/api/dashboards/db":
		s.saveDashboard(w, body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/dashboards/uid/"):
		s.getDashboard(w, strings.TrimPrefix(path, "/api/dashboards/uid/"))
	case r.Method == http.MethodPost && path == "/api/annotations":
		s.postAnnotation(w, body)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not found"})
	}
}

func (s *Server) injectedFailure() (int, bool) {
	for len(s.failures) > 0 {
		f := &s.failures[0]
		if f.left <= 0 {
			s.failures = s.failures[1:]
			continue
		}
		f.left--
		return f.status, true
	}
	return 0, false
}

// authenticate checks the bearer token as Grafana does: a missing one is
// "Unauthorized", an unknown one "Invalid API key", both 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (Role, bool) {
	auth := r.Header.Get("Authorization")
	token, found := strings.CutPrefix(auth, "Bearer ")
	if auth == "" || !found {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
		return "", false
	}
	role, ok := s.tokens[token]
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Invalid API key"})
		return "", false
	}
	return role, true
}

// uidRE is Grafana's rule for uids (util.IsValidShortUID).
var uidRE = regexp.MustCompile(`^[a-zA-Z0-9\-_]*$`)

const maxUIDLength = 40

// checkUID answers 400 and returns false for a uid Grafana refuses.
func checkUID(w http.ResponseWriter, uid string) bool {
	switch {
	case len(uid) > maxUIDLength:
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "uid too long, max 40 characters", "status": "uid-too-long"})
		return false
	case !uidRE.MatchString(uid):
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "uid contains illegal characters", "status": "invalid-uid"})
		return false
	}
	return true
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

func (s *Server) listFolders(w http.ResponseWriter) {
	out := []Folder{}
	for _, f := range s.folders {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFolder(w http.ResponseWriter, uid string) {
	f, ok := s.folders[uid]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "folder not found", "status": "not-found"})
		return
	}
	writeJSON(w, http.StatusOK, folderJSON(f))
}

func folderJSON(f *Folder) map[string]any {
	return map[string]any{"id": f.ID, "uid": f.UID, "title": f.Title, "url": "/dashboards/f/" + f.UID + "/", "version": 1}
}

func (s *Server) createFolder(w http.ResponseWriter, body []byte) {
	var cmd struct {
		UID   string `json:"uid"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(body, &cmd); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return
	}
	if strings.TrimSpace(cmd.Title) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "folder title cannot be empty"})
		return
	}
	if !checkUID(w, cmd.UID) {
		return
	}
	if cmd.UID == "" {
		cmd.UID = generatedUID(s.nextID + 1)
	}
	if _, ok := s.folders[cmd.UID]; ok {
		writeJSON(w, http.StatusConflict, map[string]any{"message": "a folder with the same uid already exists"})
		return
	}
	for _, f := range s.folders {
		if strings.EqualFold(f.Title, cmd.Title) {
			writeJSON(w, http.StatusConflict, map[string]any{"message": "a folder or dashboard in the general folder with the same name already exists"})
			return
		}
	}
	f := &Folder{ID: s.id(), UID: cmd.UID, Title: cmd.Title}
	s.folders[f.UID] = f
	writeJSON(w, http.StatusOK, folderJSON(f))
}

// generatedUID is the uid given to a folder or dashboard posted without one.
func generatedUID(n int64) string { return fmt.Sprintf("generated-%d", n) }

// saveDashboard is POST /api/dashboards/db.
func (s *Server) saveDashboard(w http.ResponseWriter, body []byte) {
	var cmd struct {
		Dashboard map[string]any `json:"dashboard"`
		FolderUID string         `json:"folderUid"`
		Overwrite bool           `json:"overwrite"`
		Message   string         `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&cmd); err != nil || cmd.Dashboard == nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return
	}
	title, _ := cmd.Dashboard["title"].(string)
	if strings.TrimSpace(title) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Dashboard title cannot be empty", "status": "empty-name"})
		return
	}
	uid, _ := cmd.Dashboard["uid"].(string)
	if !checkUID(w, uid) {
		return
	}
	if cmd.FolderUID != "" {
		if _, ok := s.folders[cmd.FolderUID]; !ok {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "folder not found", "status": "folder-not-found"})
			return
		}
	}
	if uid == "" {
		uid = generatedUID(s.nextID + 1)
	}
	version := int64(0)
	if v, ok := cmd.Dashboard["version"].(json.Number); ok {
		version, _ = v.Int64()
	}
	existing, exists := s.dashboards[uid]
	if !exists {
		if id, ok := cmd.Dashboard["id"].(json.Number); ok && id.String() != "0" {
			writeJSON(w, http.StatusNotFound, map[string]any{"message": "Dashboard not found", "status": "not-found"})
			return
		}
	}
	if exists && version != existing.version && !cmd.Overwrite {
		writeJSON(w, http.StatusPreconditionFailed, map[string]any{"message": "The dashboard has been changed by someone else", "status": "version-mismatch"})
		return
	}
	for otherUID, d := range s.dashboards {
		if otherUID != uid && d.folderUID == cmd.FolderUID && strings.EqualFold(d.model["title"].(string), title) {
			if !cmd.Overwrite {
				writeJSON(w, http.StatusPreconditionFailed, map[string]any{"message": "A dashboard with the same name in the folder already exists", "status": "name-exists"})
				return
			}
			delete(s.dashboards, otherUID)
		}
	}
	d := existing
	if !exists {
		d = &dashboard{id: s.id()}
		s.dashboards[uid] = d
	}
	d.version++
	d.folderUID = cmd.FolderUID
	d.model = normalize(cmd.Dashboard)
	d.model["id"] = d.id
	d.model["uid"] = uid
	d.model["version"] = d.version
	writeJSON(w, http.StatusOK, map[string]any{
		"id": d.id, "uid": uid, "url": "/d/" + uid + "/" + slug(title), "status": "success",
		"version": d.version, "slug": slug(title), "folderUid": cmd.FolderUID,
	})
}

func (s *Server) getDashboard(w http.ResponseWriter, uid string) {
	d, ok := s.dashboards[uid]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Dashboard not found", "status": "not-found"})
		return
	}
	title, _ := d.model["title"].(string)
	meta := map[string]any{
		"type": "db", "canSave": true, "canEdit": true, "slug": slug(title),
		"url": "/d/" + uid + "/" + slug(title), "version": d.version, "folderUid": d.folderUID,
	}
	if f, ok := s.folders[d.folderUID]; ok {
		meta["folderId"] = f.ID
		meta["folderTitle"] = f.Title
	}
	writeJSON(w, http.StatusOK, map[string]any{"dashboard": d.model, "meta": meta})
}

func (s *Server) postAnnotation(w http.ResponseWriter, body []byte) {
	var a Annotation
	if err := json.Unmarshal(body, &a); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "bad request data"})
		return
	}
	if a.Text == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Failed to save annotation", "error": "text field should not be empty"})
		return
	}
	a.ID = s.id()
	if a.TimeEnd == 0 {
		a.TimeEnd = a.Time
	}
	s.annotations = append(s.annotations, a)
	writeJSON(w, http.StatusOK, map[string]any{"message": "Annotation added", "id": a.ID})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// normalize round-trips v through JSON, as Grafana stores a dashboard.
func normalize(v map[string]any) map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func clone(v map[string]any) map[string]any { return normalize(v) }

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slug(title string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
}
