package server

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.yaml from server/openapi.yaml")

// apiSpec is the served document, loaded and checked once for all tests.
var apiSpec = sync.OnceValues(func() (routers.Router, error) {
	// The UI's pages and the report's downloads are read as text.
	for _, ct := range []string{"text/html", "text/csv"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	b, err := OpenAPI()
	if err != nil {
		return nil, err
	}
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("loading openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return gorillamux.NewRouter(doc)
})

// validating serves h and checks every answer against the OpenAPI
// document: its status is documented for the operation and its headers
// and body match the schema. Failures are reported when t ends, so a
// handler running on an httptest.Server's goroutine may report too.
// Requests are not checked: the tests send bad ones on purpose.
func validating(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	router, err := apiSpec()
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		problems []string
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("answer not as openapi.yaml says: %s", p)
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The handler may rewrite the request (a Flagger URL token is
		// taken out of the path): find the route on a copy first.
		asked := r.Clone(r.Context())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())

		if p := checkAnswer(router, asked, rec); p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})
}

// checkAnswer returns what is wrong with rec as the answer to r, or "".
// An answer to a path the document does not have must be a 404 or 405
// error envelope.
func checkAnswer(router routers.Router, r *http.Request, rec *httptest.ResponseRecorder) string {
	route, params, err := router.FindRoute(r)
	if err != nil {
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			return fmt.Sprintf("%s %s: %d for a route not in the document (%v)", r.Method, r.URL.Path, rec.Code, err)
		}
		var env errorEnvelope
		if strings.HasPrefix(r.URL.Path, "/ui/") {
			return "" // the UI's HTML 404 page
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Error == nil {
			return fmt.Sprintf("%s %s: %d without the error envelope: %s", r.Method, r.URL.Path, rec.Code, rec.Body)
		}
		return ""
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
		return fmt.Sprintf("%s %s (%s): %d: %v\nbody: %.500s", r.Method, r.URL.Path, route.Operation.OperationID, rec.Code, err, rec.Body)
	}
	return ""
}

// Every route echo serves is in the document, and every operation of the
// document is a route echo serves.
func TestOpenAPIRoutes(t *testing.T) {
	f := newOperatorServer(t)
	s, _ := newTestServer(t, knownServiceGate("go"), withPolicy(t, operatorPolicy), func(c *Config) {
		c.Operator = f.store
	})
	// Answers of the routes no other test asks, checked by the validator.
	if rec := do(t, s.Handler(), http.MethodGet, "/v1/concurrency", ciToken, ""); rec.Code != http.StatusOK {
		t.Errorf("GET /v1/concurrency: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, s.Handler(), http.MethodGet, "/ui", "", ""); rec.Code != http.StatusSeeOther {
		t.Errorf("GET /ui: %d", rec.Code)
	}
	var served []string
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		served = append(served, r.Method+" "+openAPIPath(r.Path))
	}
	b, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(served)
	served = slices.Compact(served)
	slices.Sort(documented)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("echo serves %s, not in openapi.yaml", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.yaml documents %s, which echo does not serve", r)
		}
	}
}

// openAPIPath writes an echo path as OpenAPI does: /v1/decisions/:id is
// /v1/decisions/{id}, and the UI's catch-all /ui/* is /ui/{page}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		switch {
		case strings.HasPrefix(s, ":"):
			parts[i] = "{" + s[1:] + "}"
		case s == "*":
			parts[i] = "{page}"
		}
	}
	return strings.Join(parts, "/")
}

// /openapi.json is served without a token, and docs/openapi.yaml is the
// document served.
func TestOpenAPIDocument(t *testing.T) {
	s, _ := newTestServer(t, knownServiceGate("go"))
	rec := do(t, s.Handler(), http.MethodGet, "/openapi.json", "", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json without a token: %d %s", rec.Code, rec.Body)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths["/v1/gate"] == nil {
		t.Errorf("served document: openapi %q, /v1/gate %v", doc.OpenAPI, doc.Paths["/v1/gate"])
	}

	const copyPath = "../docs/openapi.yaml"
	if *update {
		if err := os.WriteFile(copyPath, openAPIYAML, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, openAPIYAML) {
		t.Errorf("docs/openapi.yaml differs from server/openapi.yaml: run go test ./server -run TestOpenAPIDocument -update")
	}
}
