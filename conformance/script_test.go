package conformance

import (
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// script is a Raw server's responder that a test steers while it runs:
// rule decides a reply when it returns true, queued replies answer the
// next requests one each, and anything else gets the default reply.
type script struct {
	mu    sync.Mutex
	rule  func(req testserver.Request) (testserver.Reply, bool)
	queue []testserver.Reply
}

func (s *script) respond(req testserver.Request) testserver.Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rule != nil {
		if rep, ok := s.rule(req); ok {
			return rep
		}
	}
	if len(s.queue) > 0 {
		rep := s.queue[0]
		s.queue = s.queue[1:]
		return rep
	}
	return testserver.RawDefaultReply(req)
}

// then queues a reply for the next request.
func (s *script) then(rep testserver.Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, rep)
}

// setRule replaces the rule.
func (s *script) setRule(f func(req testserver.Request) (testserver.Reply, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rule = f
}

// scripted starts a Raw server answering through a script.
func scripted(t *testing.T, opts ...testserver.RawOption) (*testserver.Raw, *script) {
	s := &script{}
	return raw(t, append([]testserver.RawOption{testserver.RawWithResponder(s.respond)}, opts...)...), s
}

// say delivers msg to the agent: pushed over the open WebSocket
// connection, or as the answer to the next HTTP poll. It returns the
// number of messages the server had received before.
func say(t *testing.T, r *testserver.Raw, s *script, tr Transport, msg *protobufs.ServerToAgent) int {
	t.Helper()
	before := len(r.Requests())
	if tr == HTTP {
		s.then(testserver.Reply{Msg: msg})
		return before
	}
	r.WaitFor(t, waitFor, "an open connection", func(r *testserver.Raw) bool { return r.OpenConns() == 1 })
	require.NoError(t, r.Push(msg))
	return before
}

// sayRaw delivers data as is: a WebSocket message or an HTTP body.
func sayRaw(t *testing.T, r *testserver.Raw, s *script, tr Transport, data []byte) {
	t.Helper()
	if tr == HTTP {
		s.then(testserver.Reply{Raw: data})
		return
	}
	r.WaitFor(t, waitFor, "an open connection", func(r *testserver.Raw) bool { return r.OpenConns() == 1 })
	require.NoError(t, r.PushRaw(data))
}

// answered waits until the server answered n+1 requests or pushes, so a
// message said after request n has reached the agent (HTTP), or gives a
// pushed one time to be processed (WebSocket).
func answered(t *testing.T, r *testserver.Raw, tr Transport, before int) {
	t.Helper()
	if tr == HTTP {
		r.WaitFor(t, waitFor, "the poll that carries the answer", func(r *testserver.Raw) bool {
			return len(r.Requests()) > before+1
		})
		return
	}
	quiet(300 * time.Millisecond)
}

// gaps are the times between consecutive instants.
func gaps(at []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(at); i++ {
		out = append(out, at[i].Sub(at[i-1]))
	}
	return out
}

// attemptTimes lists when each connection attempt arrived: WebSocket
// upgrades (accepted or refused) or HTTP requests.
func attemptTimes(r *testserver.Raw, tr Transport) []time.Time {
	var at []time.Time
	for _, e := range r.Events() {
		switch {
		case tr == WS && (e.Kind == testserver.EventUpgrade || e.Kind == testserver.EventRefused):
			at = append(at, e.At)
		case tr == HTTP && (e.Kind == testserver.EventMessage || e.Kind == testserver.EventRefused):
			at = append(at, e.At)
		}
	}
	return at
}
