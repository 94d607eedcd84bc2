package metricsource

import (
	"net"
	"net/http"
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
func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.header) > 0 {
		req = req.Clone(req.Context())
		for k, v := range t.header {
			req.Header[k] = v
		}
	}
	return t.next.RoundTrip(req)
}

// CloseIdleConnections closes idle connections of the wrapped transport.
func (t *headerTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
