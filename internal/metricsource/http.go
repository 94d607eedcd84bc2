package metricsource

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/internal/config"
)

// DefaultTimeout bounds one query when a config leaves Timeout at zero:
// source.timeout's default.
const DefaultTimeout = time.Duration(config.DefaultSourceTimeout)

// HTTPConfig configures an HTTP source.
type HTTPConfig struct {
	// URL is the base of the Prometheus HTTP API, without /api/v1:
	// http://prometheus:9090, http://thanos-query:10902,
	// http://mimir:8080/prometheus (Mimir and Cortex serve the API under a
	// prefix), http://victoriametrics:8428.
	URL string
	// Headers are sent with every request, for example X-Scope-OrgID for a
	// Mimir or Cortex tenant.
	Headers map[string]string
	// BearerToken, when set, is sent as "Authorization: Bearer <token>".
	BearerToken string
	// Timeout bounds each query, both on the client (context deadline) and on
	// the server (the timeout parameter). Zero means DefaultTimeout.
	Timeout time.Duration
	// Client, when set, sends the requests; its Transport (or a fresh one when
	// nil) is wrapped to add Headers and BearerToken. The Client itself is
	// not modified.
	Client *http.Client
}

func (c *HTTPConfig) defaults() error {
	if c.URL == "" {
		return errors.New("URL is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		// url.Parse's error quotes the URL, credentials and all.
		return fmt.Errorf("URL %s does not parse", RedactURL(c.URL))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: scheme must be http or https", RedactURL(c.URL))
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q: host is missing", RedactURL(c.URL))
	}
	if c.Timeout < 0 {
		return fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	auths := 0
	if c.BearerToken != "" {
		auths++
	}
	if u.User != nil {
		auths++
	}
	for k := range c.Headers {
		if http.CanonicalHeaderKey(k) == "Authorization" {
			auths++
		}
	}
	if auths > 1 {
		return errors.New("set one of BearerToken, an Authorization header or user:password in the URL, not several")
	}
	return nil
}

// RedactURL returns raw with its user information (user:password@)
// replaced by REDACTED, for logs, errors and pages. A URL that does not
// parse is not shown at all: where its secret is cannot be told.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(URL that does not parse, not shown)"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	return u.String()
}

// splitUserinfo removes user:password from raw and returns them as a
// basic Authorization header value ("" without them). The address the
// client knows then has no secret for its errors to quote.
func splitUserinfo(raw string) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, ""
	}
	pass, _ := u.User.Password()
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(u.User.Username(), pass)
	u.User = nil
	return u.String(), req.Header.Get("Authorization")
}

// HTTP runs queries against a Prometheus HTTP API: Prometheus, Thanos,
// Mimir, Cortex or VictoriaMetrics.
//
// Warnings in a response (Thanos reports partial responses this way) are
// dropped; errors are always returned.
type HTTP struct {
	api       v1.API
	timeout   time.Duration
	server    v1.Option // the timeout parameter sent to the server
	transport *headerTransport
}

// NewHTTP returns an HTTP source. It does not contact the server; call Ready.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	client := &http.Client{}
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	}
	rt := client.Transport
	if rt == nil {
		rt = newTransport()
	}
	address, basic := splitUserinfo(cfg.URL)
	headers := cfg.Headers
	if basic != "" {
		headers = make(map[string]string, len(cfg.Headers)+1)
		maps.Copy(headers, cfg.Headers)
		headers["Authorization"] = basic
	}
	tr := newHeaderTransport(rt, headers, cfg.BearerToken)
	client.Transport = tr
	c, err := api.NewClient(api.Config{Address: address, Client: client})
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	return &HTTP{
		api:       v1.NewAPI(c),
		timeout:   cfg.Timeout,
		server:    v1.WithTimeout(serverTimeout(cfg.Timeout)),
		transport: tr,
	}, nil
}

// serverTimeout rounds d down so that its String form parses as a Prometheus
// duration: "1.5s" does not, "1s" and "500ms" do.
func serverTimeout(d time.Duration) time.Duration {
	if s := d.Truncate(time.Second); s > 0 {
		return s
	}
	return max(d.Truncate(time.Millisecond), time.Millisecond)
}

// Query runs an instant query at ts. A scalar result (vector(1) is a vector,
// but time() and 1+1 are scalars) comes back as a vector of one sample with
// no labels. Any other result type than vector or scalar is an error.
func (h *HTTP) Query(ctx context.Context, query string, ts time.Time) (model.Vector, error) {
	if ts.IsZero() {
		return nil, fmt.Errorf("query %q: evaluation time is zero", query)
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	v, warnings, _, err := h.api.Query(ctx, query, ts, h.server)
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", query, err)
	}
	if err := partial(query, warnings); err != nil {
		return nil, err
	}
	return asVector(query, v)
}

// QueryRange runs a range query from start to end (inclusive) every step.
// Any result type other than matrix is an error.
func (h *HTTP) QueryRange(ctx context.Context, query string, start, end time.Time, step time.Duration) (model.Matrix, error) {
	if err := checkRange(query, start, end, step); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	r := v1.Range{Start: start, End: end, Step: step}
	v, warnings, _, err := h.api.QueryRange(ctx, query, r, h.server)
	if err != nil {
		return nil, fmt.Errorf("range query %q: %w", query, err)
	}
	if err := partial(query, warnings); err != nil {
		return nil, err
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("range query %q: got %s, want matrix", query, typeOf(v))
	}
	if err := onGrid(m, start, end, step); err != nil {
		return nil, fmt.Errorf("range query %q: %w", query, err)
	}
	return m, nil
}

// onGrid checks that every point lies at start + i*step within [start,
// end], as asked. A response cache that aligns ranges to the step
// (VictoriaMetrics' without nocache=1, a query frontend's step alignment)
// moves them, and a caller reading points by their time would find none.
func onGrid(m model.Matrix, start, end time.Time, step time.Duration) error {
	from, to, every := start.UnixMilli(), end.UnixMilli(), step.Milliseconds()
	for _, s := range m {
		for _, p := range s.Values {
			ts := int64(p.Timestamp)
			if ts < from || ts > to || every > 0 && (ts-from)%every != 0 {
				return fmt.Errorf("the source answered a point at %s, off the asked grid (every %s from %s): "+
					"a response cache that aligns ranges to the step moved it (for VictoriaMetrics behind a proxy, pass nocache=1 through)",
					p.Timestamp.Time().UTC().Format(time.RFC3339Nano), step, start.UTC().Format(time.RFC3339Nano))
			}
		}
	}
	return nil
}

// partial turns warnings into an error. Thanos and Cortex-style backends
// report a partial response (a store or querier that did not answer) only
// as a warning; a gate must not decide on partial data, so any warning
// fails the query. Informational notes (Infos) are not warnings.
func partial(query string, warnings v1.Warnings) error {
	if len(warnings) == 0 {
		return nil
	}
	return fmt.Errorf("query %q: the source answered with warnings, so the data may be partial: %s", query, strings.Join(warnings, "; "))
}

// readyQuery is a cheap query every backend answers with one sample of
// value 1. /-/ready is not served by Mimir under its API prefix nor by
// VictoriaMetrics the same way, so Ready asks the query API itself. It
// selects a series (that does not exist) rather than computing vector(1),
// so that Thanos and Mimir fan it out to their stores and report one that
// does not answer as a partial-response warning.
const readyQuery = "absent(patchgate_readiness_probe_no_such_series)"

// Ready runs readyQuery at the server's current time, bounded by the
// configured timeout, and checks the answer. A warning (partial data) is
// not ready: the gate would answer only wait or no_go from such a source.
func (h *HTTP) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	// A zero time leaves the evaluation time to the server's clock.
	v, warnings, _, err := h.api.Query(ctx, readyQuery, time.Time{}, h.server)
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	if err := partial(readyQuery, warnings); err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	vec, err := asVector(readyQuery, v)
	if err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	if len(vec) != 1 || vec[0].Value != 1 {
		return fmt.Errorf("ready: %s answered %v, want one sample of value 1", readyQuery, vec)
	}
	return nil
}

// Close releases idle connections.
func (h *HTTP) Close() error {
	h.transport.CloseIdleConnections()
	return nil
}

// asVector accepts a vector, or a scalar as a vector of one unlabelled sample.
func asVector(query string, v model.Value) (model.Vector, error) {
	switch v := v.(type) {
	case model.Vector:
		return v, nil
	case *model.Scalar:
		return model.Vector{{Metric: model.Metric{}, Value: v.Value, Timestamp: v.Timestamp}}, nil
	default:
		return nil, fmt.Errorf("query %q: got %s, want vector or scalar", query, typeOf(v))
	}
}

func typeOf(v model.Value) string {
	if v == nil {
		return "no result"
	}
	return v.Type().String()
}

func checkRange(query string, start, end time.Time, step time.Duration) error {
	switch {
	case start.IsZero() || end.IsZero():
		return fmt.Errorf("range query %q: start and end are required", query)
	case end.Before(start):
		return fmt.Errorf("range query %q: end %s is before start %s", query, end.Format(time.RFC3339), start.Format(time.RFC3339))
	case step <= 0:
		return fmt.Errorf("range query %q: step %s is not positive", query, step)
	}
	return nil
}

var _ Source = (*HTTP)(nil)
