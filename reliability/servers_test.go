package reliability

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"

	"github.com/opampext/opampextension/internal/testserver"
)

// unavailableRetry is the retry_after of the UNAVAILABLE fault.
const unavailableRetry = 300 * time.Millisecond

// servers starts every OpAMP server of the run and shares one throttle
// switch between them: a restarted server inherits the load balancer's
// throttling.
type servers struct {
	throttle  atomic.Bool
	throttled atomic.Int64 // 503 answers given
	// unavailable answers every message with UNAVAILABLE (retry_after);
	// bodyLimit refuses HTTP bodies over it with 413 (0: none), as a
	// proxy with a misconfigured limit would.
	unavailable  atomic.Bool
	unavailables atomic.Int64
	bodyLimit    atomic.Int64
	tooLarge     atomic.Int64 // 413 answers given
	// slowFirst holds the answer to each agent's first message on a
	// server for that long (0: none): a new server slow to take agents on,
	// so that their tries of a move are under way together.
	slowFirst atomic.Int64

	mu  sync.Mutex
	all []*testserver.Server
}

// start starts a fresh server, one that knows no agent.
func (s *servers) start(t *testing.T) *testserver.Server {
	t.Helper()
	var srv *testserver.Server
	srv = testserver.Start(t, testserver.WithOnConnecting(func(r *http.Request) (bool, int) {
		if s.throttle.Load() {
			s.throttled.Add(1)
			return false, http.StatusServiceUnavailable
		}
		if limit := s.bodyLimit.Load(); limit > 0 && r.ContentLength > limit {
			s.tooLarge.Add(1)
			return false, http.StatusRequestEntityTooLarge
		}
		return true, 0
	}), testserver.WithResponder(func(uid string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
		if s.unavailable.Load() {
			s.unavailables.Add(1)
			return &protobufs.ServerToAgent{ErrorResponse: &protobufs.ServerErrorResponse{
				Type:    protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable,
				Details: &protobufs.ServerErrorResponse_RetryInfo{RetryInfo: &protobufs.RetryInfo{RetryAfterNanoseconds: uint64(unavailableRetry)}},
			}}
		}
		if d := time.Duration(s.slowFirst.Load()); d > 0 {
			if st := srv.Agent(uid); st != nil && st.MessageCount == 1 {
				time.Sleep(d)
			}
		}
		return srv.DefaultReply(uid, msg)
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
