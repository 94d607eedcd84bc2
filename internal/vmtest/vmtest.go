// Package vmtest starts a real single-node VictoriaMetrics holding recorded
// data, for integration tests: the second query engine beside Prometheus
// (internal/promtest), given the same promtest.Series. The data is imported
// through /api/v1/import/prometheus and flushed, so it is queryable at once.
//
// It needs the victoria-metrics binary (Debian package "victoria-metrics");
// without it a test is skipped loudly, or fails under CI.
package vmtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/internal/promtest"
	"github.com/patchgate/patchgate/internal/testenv"
)

// Server is a running VictoriaMetrics.
type Server struct {
	// URL is the base URL, such as http://127.0.0.1:41234; its Prometheus
	// API is under /api/v1 as Prometheus' is.
	URL string
}

// Start starts VictoriaMetrics on a free loopback port with a fresh data
// folder, imports series and waits until they are searchable. It is stopped
// when the test ends; its log is printed if the test failed. Its response
// cache is on, as in production.
func Start(t testing.TB, series []promtest.Series) *Server {
	t.Helper()
	bin := testenv.Binary(t, "victoria-metrics", "victoria-metrics")
	p := testenv.StartServer(t, "victoria-metrics", bin, "/health", func(addr string) []string {
		return []string{"-storageDataPath=" + t.TempDir(), "-retentionPeriod=100y", "-httpListenAddr=" + addr, "-loggerLevel=WARN"}
	})
	s := &Server{URL: p.URL}
	if err := s.Import(series); err != nil {
		t.Fatalf("vmtest: %v", err)
	}
	return s
}

// Import writes series through /api/v1/import/prometheus (the text
// exposition format, timestamps in milliseconds) and flushes them, so
// queries see them at once.
func (s *Server) Import(series []promtest.Series) error {
	var b bytes.Buffer
	for _, sr := range series {
		keys := make([]string, 0, len(sr.Labels))
		for k, v := range sr.Labels {
			if v != "" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var ls strings.Builder
		for i, k := range keys {
			if i > 0 {
				ls.WriteByte(',')
			}
			fmt.Fprintf(&ls, "%s=%s", k, strconv.Quote(sr.Labels[k]))
		}
		for _, p := range sr.Samples {
			fmt.Fprintf(&b, "%s{%s} %s %d\n", sr.Name, ls.String(), strconv.FormatFloat(p.V, 'g', -1, 64), p.T.UnixMilli())
		}
	}
	if err := s.post("/api/v1/import/prometheus", &b); err != nil {
		return err
	}
	if err := s.post("/internal/force_flush", nil); err != nil {
		return err
	}
	// Imported data reaches search after the flush; the response cache
	// is reset too, so no earlier answer hides it.
	return s.post("/internal/resetRollupResultCache", nil)
}

func (s *Server) post(path string, body io.Reader) error {
	method := http.MethodPost
	if body == nil {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, msg)
	}
	return nil
}
