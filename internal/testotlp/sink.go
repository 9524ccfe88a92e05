// Package testotlp is an OTLP/HTTP metrics endpoint for tests: a real
// HTTP server that decodes what a Collector's own telemetry exporter
// sends, so a test can see the metrics arrive.
package testotlp

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// Sink receives metrics at /v1/metrics.
type Sink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	names   map[string]int // metric name: times seen
	headers http.Header
	posts   int
}

// Start serves a Sink until the test ends. With setup, the server is
// handed over unstarted (to start it with TLS, say) and setup starts it.
func Start(t testing.TB, setup func(*httptest.Server)) *Sink {
	t.Helper()
	s := &Sink{names: map[string]int{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if setup != nil {
		setup(s.srv)
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL; metrics go to URL()+"/v1/metrics".
func (s *Sink) URL() string { return s.srv.URL }

func (s *Sink) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil || req.URL.Path != "/v1/metrics" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	er := pmetricotlp.NewExportRequest()
	if err := er.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.posts++
	s.headers = req.Header.Clone()
	rms := er.Metrics().ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				s.names[ms.At(k).Name()]++
			}
		}
	}
	s.mu.Unlock()
	out, _ := pmetricotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// CollectorMetric returns the name of an otelcol_ metric that arrived
// ("" if none), and how many posts arrived so far.
func (s *Sink) CollectorMetric() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.names {
		if strings.HasPrefix(n, "otelcol_") {
			return n, s.posts
		}
	}
	return "", s.posts
}

// Header is a header of the latest post.
func (s *Sink) Header(k string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers.Get(k)
}
