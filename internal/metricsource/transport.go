package metricsource

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// newTransport returns a transport of our own, so that nothing here changes
// http.DefaultTransport.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32, // queries of one decision run in parallel
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// headerTransport adds fixed headers and a bearer token to every request.
type headerTransport struct {
	next   http.RoundTripper
	header http.Header
}

func newHeaderTransport(next http.RoundTripper, headers map[string]string, bearerToken string) *headerTransport {
	h := make(http.Header, len(headers)+1)
	for k, v := range headers {
		h.Set(k, v)
	}
	if bearerToken != "" {
		h.Set("Authorization", "Bearer "+bearerToken)
	}
	return &headerTransport{next: next, header: h}
}

// RoundTrip implements http.RoundTripper. It clones the request before
// changing it, as the RoundTripper contract asks.
//
// Range queries also get nocache=1 in the URL. VictoriaMetrics' response
// cache rounds a range query's start and end down to a multiple of its
// step once the query has about 50 points or more, so a stage starting at
// :07 would come back with points at :00 and the gate, reading points by
// their exact time, would read none. Prometheus, Thanos and Mimir ignore
// the parameter. QueryRange also refuses points off the asked grid, for a
// cache in front of the source that aligns ranges the same way.
func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rangeQuery := strings.HasSuffix(req.URL.Path, "/api/v1/query_range")
	if len(t.header) > 0 || rangeQuery {
		req = req.Clone(req.Context())
		for k, v := range t.header {
			req.Header[k] = v
		}
	}
	if rangeQuery {
		q := req.URL.Query()
		q.Set("nocache", "1")
		req.URL.RawQuery = q.Encode()
	}
	return t.next.RoundTrip(req)
}

// CloseIdleConnections closes idle connections of the wrapped transport.
func (t *headerTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
