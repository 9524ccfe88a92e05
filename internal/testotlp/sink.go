// Package testotlp is an OTLP/HTTP metrics and logs endpoint for tests: a
// real HTTP server that decodes what a Collector's own telemetry exporters
// send, so a test can see the metrics and logs arrive.
package testotlp

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// Sink receives metrics at /v1/metrics and logs at /v1/logs.
type Sink struct {
	srv     *httptest.Server
	mu      sync.Mutex
	names   map[string]int      // metric name: times seen
	ids     map[string]struct{} // the metrics' resources' service.instance.id values
	logs    []string            // log record bodies, in arrival order
	headers http.Header
	posts   int
}

// Start serves a Sink until the test ends. With setup, the server is
// handed over unstarted (to start it with TLS, say) and setup starts it.
func Start(t testing.TB, setup func(*httptest.Server)) *Sink {
	t.Helper()
	s := &Sink{names: map[string]int{}, ids: map[string]struct{}{}}
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

// The OTLP request and response types of every signal have these.
type (
	otlpRequest  interface{ UnmarshalProto([]byte) error }
	otlpResponse interface{ MarshalProto() ([]byte, error) }
)

func (s *Sink) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	var (
		er   otlpRequest
		resp otlpResponse
		note func()
	)
	switch req.URL.Path {
	case "/v1/metrics":
		m := pmetricotlp.NewExportRequest()
		er, resp, note = m, pmetricotlp.NewExportResponse(), func() { s.noteMetrics(m) }
	case "/v1/logs":
		l := plogotlp.NewExportRequest()
		er, resp, note = l, plogotlp.NewExportResponse(), func() { s.noteLogs(l) }
	default:
		http.Error(w, "no such path", http.StatusNotFound)
		return
	}
	if err := er.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.received(req, note)
	out, _ := resp.MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// received counts a post and notes its content under the lock.
func (s *Sink) received(req *http.Request, note func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts++
	s.headers = req.Header.Clone()
	note()
}

func (s *Sink) noteMetrics(er pmetricotlp.ExportRequest) {
	rms := er.Metrics().ResourceMetrics()
	for i := range rms.Len() {
		if id, ok := rms.At(i).Resource().Attributes().Get("service.instance.id"); ok {
			s.ids[id.AsString()] = struct{}{}
		}
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				s.names[ms.At(k).Name()]++
			}
		}
	}
}

func (s *Sink) noteLogs(er plogotlp.ExportRequest) {
	rls := er.Logs().ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				s.logs = append(s.logs, lrs.At(k).Body().AsString())
			}
		}
	}
}

// InstanceIDs are the service.instance.id values the metrics' resources
// carried, sorted.
func (s *Sink) InstanceIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.ids))
}

// Logged says whether a log record whose body contains text arrived.
func (s *Sink) Logged(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.logs {
		if strings.Contains(l, text) {
			return true
		}
	}
	return false
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
