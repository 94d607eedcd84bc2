package metricsource

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// request is what the fake API saw of one request.
type request struct {
	path   string
	header http.Header
	form   url.Values
}

// fakeAPI answers every request with one status and body, after delay.
type fakeAPI struct {
	status int
	body   string
	delay  time.Duration

	mu   sync.Mutex
	seen []request
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, request{path: r.URL.Path, header: r.Header.Clone(), form: r.Form})
	f.mu.Unlock()
	select {
	case <-time.After(f.delay):
	case <-r.Context().Done():
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = w.Write([]byte(f.body))
}

func (f *fakeAPI) last(t *testing.T) request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		t.Fatal("the server saw no request")
	}
	return f.seen[len(f.seen)-1]
}

// serve starts api and returns an HTTP source for it with cfg's other fields.
func serve(t *testing.T, api *fakeAPI, cfg HTTPConfig) *HTTP {
	t.Helper()
	if api.status == 0 {
		api.status = http.StatusOK
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL + cfg.URL
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatalf("NewHTTP: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

const (
	vectorBody = `{"status":"success","data":{"resultType":"vector","result":[` +
		`{"metric":{"__name__":"up","job":"api"},"value":[1931256000,"1"]},` +
		`{"metric":{"__name__":"up","job":"db"},"value":[1931256000,"0"]}]}}`
	scalarBody = `{"status":"success","data":{"resultType":"scalar","result":[1931256000,"42.5"]}}`
	matrixBody = `{"status":"success","data":{"resultType":"matrix","result":[` +
		`{"metric":{"job":"api"},"values":[[1931256000,"1"],[1931256060,"2"]]}]}}`
	stringBody  = `{"status":"success","data":{"resultType":"string","result":[1931256000,"x"]}}`
	emptyVector = `{"status":"success","warnings":["partial response"],"data":{"resultType":"vector","result":[]}}`
)

func TestHTTPQuery(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   model.Vector
		err    string
		apiErr v1.ErrorType // when set, the error must be a *v1.Error of this type
	}{
		{
			name: "vector", body: vectorBody,
			want: model.Vector{
				{Metric: model.Metric{"__name__": "up", "job": "api"}, Value: 1, Timestamp: model.TimeFromUnix(1931256000)},
				{Metric: model.Metric{"__name__": "up", "job": "db"}, Value: 0, Timestamp: model.TimeFromUnix(1931256000)},
			},
		},
		{
			name: "scalar is one unlabelled sample", body: scalarBody,
			want: model.Vector{{Metric: model.Metric{}, Value: 42.5, Timestamp: model.TimeFromUnix(1931256000)}},
		},
		{name: "warnings mean partial data", body: emptyVector, err: "data may be partial: partial response"},
		{name: "matrix", body: matrixBody, err: "got matrix, want vector or scalar"},
		{name: "string", body: stringBody, apiErr: v1.ErrBadResponse, err: `unexpected value type "string"`},
		{
			name: "bad query", status: http.StatusBadRequest, apiErr: v1.ErrBadData,
			body: `{"status":"error","errorType":"bad_data","error":"1:6: parse error: unclosed left parenthesis"}`,
			err:  "bad_data: 1:6: parse error",
		},
		{
			name: "execution error", status: http.StatusUnprocessableEntity, apiErr: v1.ErrExec,
			body: `{"status":"error","errorType":"execution","error":"query processing would load too many samples"}`,
			err:  "too many samples",
		},
		{name: "server error", status: http.StatusBadGateway, body: `upstream down`, apiErr: v1.ErrServer, err: "server error: 502"},
		{name: "not JSON", body: `<html>`, apiErr: v1.ErrBadResponse, err: "bad_response"},
		{name: "no data", body: `{"status":"success"}`, err: "got no result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{status: tt.status, body: tt.body}
			h := serve(t, api, HTTPConfig{})
			const query = `up{job=~"api|db"}`
			got, err := h.Query(context.Background(), query, t0)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Query error = %v, want one containing %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), strconv.Quote(query)) {
					t.Errorf("error %q does not name the query", err)
				}
				if tt.apiErr != "" {
					var apiErr *v1.Error
					if !errors.As(err, &apiErr) || apiErr.Type != tt.apiErr {
						t.Errorf("error %v is not a *v1.Error of type %s", err, tt.apiErr)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Query: %v", err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Query = %v, want %v", got, tt.want)
			}
			req := api.last(t)
			if req.path != "/api/v1/query" {
				t.Errorf("path %q, want /api/v1/query", req.path)
			}
			if q := req.form.Get("query"); q != query {
				t.Errorf("query parameter %q, want %q", q, query)
			}
			if ts := req.form.Get("time"); ts != strconv.FormatInt(t0.Unix(), 10) {
				t.Errorf("time parameter %q, want %d", ts, t0.Unix())
			}
		})
	}
}

func TestHTTPQueryRange(t *testing.T) {
	tests := []struct {
		name string
		body string
		want model.Matrix
		err  string
	}{
		{
			name: "matrix", body: matrixBody,
			want: model.Matrix{{Metric: model.Metric{"job": "api"}, Values: []model.SamplePair{
				{Timestamp: model.TimeFromUnix(1931256000), Value: 1},
				{Timestamp: model.TimeFromUnix(1931256060), Value: 2},
			}}},
		},
		{name: "vector", body: vectorBody, err: "got vector, want matrix"},
		{name: "bad body", body: `{`, err: "bad_response"},
		// A cache that aligned the range to the step: points at :00 for
		// a range asked from :07.
		{
			name: "off the grid",
			body: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1931256030,"1"]]}]}}`,
			err:  "off the asked grid",
		},
		{
			name: "partial",
			body: `{"status":"success","warnings":["No StoreAPIs matched for this query"],"data":{"resultType":"matrix","result":[]}}`,
			err:  "data may be partial",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{body: tt.body}
			h := serve(t, api, HTTPConfig{})
			const query = `rate(x[5m])`
			got, err := h.QueryRange(context.Background(), query, t0, t0.Add(time.Hour), 60*time.Second)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), strconv.Quote(query)) {
					t.Fatalf("QueryRange error = %v, want one naming the query and containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("QueryRange: %v", err)
			}
			if len(got) != len(tt.want) || !got[0].Metric.Equal(tt.want[0].Metric) || len(got[0].Values) != 2 ||
				!got[0].Values[0].Equal(&tt.want[0].Values[0]) || !got[0].Values[1].Equal(&tt.want[0].Values[1]) {
				t.Errorf("QueryRange = %v, want %v", got, tt.want)
			}
			req := api.last(t)
			want := map[string]string{
				"query": query,
				"start": strconv.FormatInt(t0.Unix(), 10),
				"end":   strconv.FormatInt(t0.Add(time.Hour).Unix(), 10),
				"step":  "60",
				// VictoriaMetrics' response cache would move the points.
				"nocache": "1",
			}
			for k, v := range want {
				if got := req.form.Get(k); got != v {
					t.Errorf("parameter %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHTTPQueryRangeInvalid(t *testing.T) {
	api := &fakeAPI{body: matrixBody}
	h := serve(t, api, HTTPConfig{})
	tests := []struct {
		name       string
		start, end time.Time
		step       time.Duration
		err        string
	}{
		{name: "zero step", start: t0, end: t0, err: "step 0s is not positive"},
		{name: "end before start", start: t0, end: t0.Add(-time.Second), step: time.Second, err: "is before start"},
		{name: "zero start", end: t0, step: time.Second, err: "start and end are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.QueryRange(context.Background(), "up", tt.start, tt.end, tt.step)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error = %v, want one containing %q", err, tt.err)
			}
		})
	}
	if len(api.seen) != 0 {
		t.Errorf("invalid ranges reached the server %d times", len(api.seen))
	}
}

// TestHTTPRequestShape checks the URL prefix, headers and bearer token that
// Mimir, Cortex and authenticating proxies need.
func TestHTTPRequestShape(t *testing.T) {
	tests := []struct {
		name     string
		cfg      HTTPConfig
		path     string
		headers  map[string]string
		noHeader []string
	}{
		{
			name:     "plain Prometheus",
			path:     "/api/v1/query",
			noHeader: []string{"Authorization", "X-Scope-Orgid"},
		},
		{
			name:    "Mimir tenant under /prometheus",
			cfg:     HTTPConfig{URL: "/prometheus", Headers: map[string]string{"X-Scope-OrgID": "team-a"}},
			path:    "/prometheus/api/v1/query",
			headers: map[string]string{"X-Scope-OrgID": "team-a"},
		},
		{
			name:    "trailing slash",
			cfg:     HTTPConfig{URL: "/prometheus/"},
			path:    "/prometheus/api/v1/query",
			headers: map[string]string{},
		},
		{
			name:    "bearer token",
			cfg:     HTTPConfig{BearerToken: "s3cret"},
			path:    "/api/v1/query",
			headers: map[string]string{"Authorization": "Bearer s3cret"},
		},
		{
			name:    "caller's client keeps its transport",
			cfg:     HTTPConfig{Client: &http.Client{Transport: &markingTransport{}}, BearerToken: "t"},
			path:    "/api/v1/query",
			headers: map[string]string{"Authorization": "Bearer t", "X-Marked": "yes"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{body: vectorBody}
			var before http.RoundTripper
			if tt.cfg.Client != nil {
				before = tt.cfg.Client.Transport
			}
			h := serve(t, api, tt.cfg)
			if _, err := h.Query(context.Background(), "up", t0); err != nil {
				t.Fatal(err)
			}
			if tt.cfg.Client != nil && tt.cfg.Client.Transport != before {
				t.Error("NewHTTP changed the caller's http.Client")
			}
			req := api.last(t)
			if req.path != tt.path {
				t.Errorf("path %q, want %q", req.path, tt.path)
			}
			for k, v := range tt.headers {
				if got := req.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			for _, k := range tt.noHeader {
				if got := req.header.Get(k); got != "" {
					t.Errorf("header %s = %q, want none", k, got)
				}
			}
		})
	}
}

// markingTransport stands for a caller's own transport (TLS, proxy).
type markingTransport struct{}

func (markingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Marked", "yes")
	return http.DefaultTransport.RoundTrip(r)
}

func TestHTTPTimeouts(t *testing.T) {
	tests := []struct {
		name       string
		cfgTimeout time.Duration
		ctxTimeout time.Duration
		serverWait time.Duration
		wantParam  string
	}{
		{name: "context deadline", cfgTimeout: time.Minute, ctxTimeout: 50 * time.Millisecond, serverWait: 5 * time.Second, wantParam: "1m0s"},
		{name: "configured timeout", cfgTimeout: 100 * time.Millisecond, ctxTimeout: time.Minute, serverWait: 5 * time.Second, wantParam: "100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{body: vectorBody, delay: tt.serverWait}
			h := serve(t, api, HTTPConfig{Timeout: tt.cfgTimeout})
			ctx, cancel := context.WithTimeout(context.Background(), tt.ctxTimeout)
			defer cancel()
			began := time.Now()
			_, err := h.Query(ctx, "up", t0)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Query error = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(began); d > 3*time.Second {
				t.Errorf("Query took %s, want it cut short", d)
			}
			// The server is told the timeout in a form Prometheus parses.
			param := api.last(t).form.Get("timeout")
			if param != tt.wantParam {
				t.Errorf("timeout parameter %q, want %q", param, tt.wantParam)
			}
			if _, err := model.ParseDuration(param); err != nil {
				t.Errorf("timeout parameter %q does not parse as a Prometheus duration: %v", param, err)
			}
		})
	}
}

func TestHTTPReady(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		err    string
	}{
		{name: "ready", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`},
		{name: "unavailable", status: http.StatusServiceUnavailable, body: `Service Unavailable`, err: "server error: 503"},
		{name: "wrong answer", body: `{"status":"success","data":{"resultType":"vector","result":[]}}`, err: "want one sample of value 1"},
		{
			name: "partial data",
			body: `{"status":"success","warnings":["No StoreAPIs matched for this query"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`,
			err:  "data may be partial: No StoreAPIs matched",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeAPI{status: tt.status, body: tt.body}
			h := serve(t, api, HTTPConfig{URL: "/prometheus"})
			err := h.Ready(context.Background())
			if tt.err == "" && err != nil {
				t.Fatalf("Ready: %v", err)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Ready error = %v, want one containing %q", err, tt.err)
			}
			req := api.last(t)
			if req.path != "/prometheus/api/v1/query" || req.form.Get("query") != readyQuery || req.form.Has("time") {
				t.Errorf("Ready sent %s %v, want %s at the server's time", req.path, req.form, readyQuery)
			}
		})
	}
}

func TestHTTPReadyUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	h, err := NewHTTP(HTTPConfig{URL: url, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Ready(context.Background()); err == nil {
		t.Fatal("Ready of a closed server succeeded")
	}
}

func TestNewHTTPInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  HTTPConfig
		err  string
	}{
		{name: "no URL", cfg: HTTPConfig{}, err: "URL is required"},
		{name: "no scheme", cfg: HTTPConfig{URL: "prometheus:9090"}, err: "scheme must be http or https"},
		{name: "no host", cfg: HTTPConfig{URL: "http:///api"}, err: "host is missing"},
		{name: "negative timeout", cfg: HTTPConfig{URL: "http://p:9090", Timeout: -time.Second}, err: "negative"},
		{
			name: "two authorizations",
			cfg:  HTTPConfig{URL: "http://p:9090", BearerToken: "a", Headers: map[string]string{"authorization": "Basic x"}},
			err:  "one of BearerToken, an Authorization header or user:password in the URL, not several",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewHTTP(tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), "invalid configuration: ") || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("NewHTTP error = %v, want invalid configuration: ...%s", err, tt.err)
			}
		})
	}
}

func TestHTTPZeroTime(t *testing.T) {
	api := &fakeAPI{body: vectorBody}
	h := serve(t, api, HTTPConfig{})
	if _, err := h.Query(context.Background(), "up", time.Time{}); err == nil || !strings.Contains(err.Error(), "evaluation time is zero") {
		t.Fatalf("Query at the zero time: %v, want an error", err)
	}
}

func TestServerTimeout(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{in: 30 * time.Second, want: "30s"},
		{in: 1500 * time.Millisecond, want: "1s"}, // "1.5s" is not a Prometheus duration
		{in: 90 * time.Second, want: "1m30s"},
		{in: 2 * time.Hour, want: "2h0m0s"},
		{in: 250 * time.Millisecond, want: "250ms"},
		{in: 250*time.Millisecond + 300*time.Microsecond, want: "250ms"},
		{in: time.Microsecond, want: "1ms"},
	}
	for _, tt := range tests {
		got := serverTimeout(tt.in).String()
		if got != tt.want {
			t.Errorf("serverTimeout(%s) = %s, want %s", tt.in, got, tt.want)
		}
		if _, err := model.ParseDuration(got); err != nil {
			t.Errorf("serverTimeout(%s) = %s does not parse as a Prometheus duration: %v", tt.in, got, err)
		}
	}
}

// Credentials in the source URL are sent as basic auth and never appear in
// an error, whatever fails.
func TestHTTPURLCredentials(t *testing.T) {
	api := &fakeAPI{status: http.StatusOK, body: vectorBody}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("alice", "s3cret-pw")
	h, err := NewHTTP(HTTPConfig{URL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Query(context.Background(), "up", time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	user, pass, ok := (&http.Request{Header: api.last(t).header}).BasicAuth()
	if !ok || user != "alice" || pass != "s3cret-pw" {
		t.Fatalf("basic auth = %q %q %v, want alice's", user, pass, ok)
	}

	srv.Close() // unreachable now
	for name, err := range map[string]error{
		"query": func() error { _, err := h.Query(context.Background(), "up", time.Unix(1, 0)); return err }(),
		"ready": h.Ready(context.Background()),
	} {
		if err == nil {
			t.Fatalf("%s of a closed server succeeded", name)
		}
		if strings.Contains(err.Error(), "s3cret-pw") || strings.Contains(err.Error(), "alice") {
			t.Errorf("%s error shows the credentials: %v", name, err)
		}
	}
	_, err = NewHTTP(HTTPConfig{URL: "ftp://alice:s3cret-pw@p:9090"})
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("invalid URL error = %v, want one without the password", err)
	}
	_, err = NewHTTP(HTTPConfig{URL: "http://alice:s3cret-pw@p:9090", BearerToken: "t"})
	if err == nil || !strings.Contains(err.Error(), "not several") {
		t.Errorf("URL credentials and a bearer token: %v, want an error", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://prometheus:9090":                    "http://prometheus:9090",
		"https://alice:s3cret@thanos:10902/api?x=1": "https://REDACTED@thanos:10902/api?x=1",
		"http://token@mimir/prometheus":             "http://REDACTED@mimir/prometheus",
		"http://alice:s3cret@host:port:bad":         "(URL that does not parse, not shown)",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
