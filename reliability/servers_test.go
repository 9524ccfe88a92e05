package reliability

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opampext/opampextension/internal/testserver"
)

// servers starts every OpAMP server of the run and shares one throttle
// switch between them: a restarted server inherits the load balancer's
// throttling.
type servers struct {
	throttle  atomic.Bool
	throttled atomic.Int64 // 503 answers given

	mu  sync.Mutex
	all []*testserver.Server
}

// start starts a fresh server, one that knows no agent.
func (s *servers) start(t *testing.T) *testserver.Server {
	t.Helper()
	srv := testserver.Start(t, testserver.WithOnConnecting(func(*http.Request) (bool, int) {
		if s.throttle.Load() {
			s.throttled.Add(1)
			return false, http.StatusServiceUnavailable
		}
		return true, 0
	}))
	s.mu.Lock()
	s.all = append(s.all, srv)
	s.mu.Unlock()
	return srv
}

// list returns every server started so far, oldest first.
func (s *servers) list() []*testserver.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*testserver.Server(nil), s.all...)
}
