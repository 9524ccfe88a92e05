package opampclient

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/testserver"
)

// startHTTP starts a polling client against url and waits until srv holds
// its custom capabilities (so its initial state is in).
func startHTTP(t *testing.T, srv *testserver.Server, url string, configure func(h *harness)) (*harness, *Client) {
	t.Helper()
	h := newHarness(url)
	h.HTTP = true
	h.PollingInterval = 100 * time.Millisecond
	if configure != nil {
		configure(h)
	}
	c := h.start(t)
	srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.CustomCapabilities != nil })
	// The server has the message before the client has its answer.
	require.Eventually(t, c.Connected, waitFor, tick)
	return h, c
}

// TestHTTPPollsAtInterval: polls come at the polling interval, and only the
// first carries the full state.
func TestHTTPPollsAtInterval(t *testing.T) {
	t.Parallel()
	const every = 200 * time.Millisecond
	srv := testserver.Start(t)
	h, c := startHTTP(t, srv, srv.HTTPURL(), func(h *harness) { h.PollingInterval = every })
	require.Eventually(t, func() bool { return len(heartbeatTimes(h.obs.stats())) >= 4 }, waitFor, tick)
	polls := heartbeatTimes(h.obs.stats())
	assertGaps(t, polls, every-10*time.Millisecond)
	assert.Less(t, polls[3].Sub(polls[0]), 3*every+time.Second, "polls far slower than asked")
	a := srv.Agent(h.uid())
	assert.Equal(t, 1, withDescription(a.Messages), "the full state is sent once")
	assert.Equal(t, testserver.TransportHTTP, a.Transport)
	assert.True(t, c.Connected())
	assert.Equal(t, 1, h.handled.connects())
}

// TestHTTPChangePollsAtOnce: a local change is sent without waiting for
// the (hour-long) polling interval, alone.
func TestHTTPChangePollsAtOnce(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	_, c := startHTTP(t, srv, srv.HTTPURL(), func(h *harness) { h.PollingInterval = time.Hour })
	require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: false, Status: "down"}))
	a := srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.Health.GetStatus() == "down" })
	last := a.Messages[len(a.Messages)-1]
	assert.Nil(t, last.GetAgentDescription(), "only the change is sent")
	assert.Equal(t, 1, withDescription(a.Messages))
}

// refuser lets a test switch the server's answer to every request.
type refuser struct{ status atomic.Int64 }

func (r *refuser) onConnecting(*http.Request) (bool, int) {
	if s := int(r.status.Load()); s != 0 {
		return false, s
	}
	return true, 0
}

// TestHTTPFailureKeepsStatePending: a change made while polls fail is sent
// once they succeed again, in one full state.
func TestHTTPFailureKeepsStatePending(t *testing.T) {
	t.Parallel()
	var ref refuser
	srv := testserver.Start(t, testserver.WithOnConnecting(ref.onConnecting))
	h, c := startHTTP(t, srv, srv.HTTPURL(), nil)

	ref.status.Store(http.StatusInternalServerError)
	tried := len(srv.RequestHeaders())
	require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: false, Status: "down"}))
	require.Eventually(t, func() bool { return h.obs.stats().Failed > 0 }, waitFor, tick)
	assert.Greater(t, len(srv.RequestHeaders()), tried)
	assert.True(t, srv.Agent(h.uid()).Health.GetHealthy(), "the server cannot have the change yet")
	assert.False(t, c.Connected())

	ref.status.Store(0)
	a := srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.Health.GetStatus() == "down" })
	back := a.Messages[len(a.Messages)-1]
	assert.NotNil(t, back.GetAgentDescription(), "the first poll after failures carries the full state")
	assert.NotNil(t, back.GetCustomCapabilities())
	// Some more polls: the full state is not sent twice.
	n := a.MessageCount
	a = srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.MessageCount >= n+3 })
	assert.Equal(t, 2, withDescription(a.Messages))
	s := h.obs.stats()
	assert.Equal(t, 2, s.Connected)
	assert.Equal(t, 1, s.Disconnected)
	assert.Equal(t, 2, h.handled.connects())
}

// TestHTTPUnauthorizedBacksOff: a 401 is logged once, naming the status,
// and retried with backoff rather than at once.
func TestHTTPUnauthorizedBacksOff(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.WithOnConnecting(func(*http.Request) (bool, int) {
		return false, http.StatusUnauthorized
	}))
	h := newHarness(srv.HTTPURL())
	h.HTTP = true
	h.PollingInterval = 10 * time.Millisecond
	h.start(t)
	time.Sleep(1500 * time.Millisecond)
	// Attempts at 0, 0.5-1 s and 1.5-3 s.
	n := len(srv.RequestHeaders())
	assert.GreaterOrEqual(t, n, 2)
	assert.LessOrEqual(t, n, 3)
	warns := h.logs.FilterMessageSnippet("Cannot reach the OpAMP server").All()
	require.Len(t, warns, 1, "warnings: %v", h.warnings())
	assert.Contains(t, warns[0].ContextMap()["error"], "401 Unauthorized")
	assert.Nil(t, srv.Agent(h.uid()))
}

// TestHTTPOversizedAnswer: an answer over the size limit is refused with a
// warning, is no connection failure, and polling goes on.
func TestHTTPOversizedAnswer(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	h, _ := startHTTP(t, srv, srv.HTTPURL(), func(h *harness) { h.MaxMessageSize = 1024 })
	require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{CustomMessage: customMessage(strings.Repeat("x", 2048))}))
	require.Eventually(t, func() bool {
		return h.logs.FilterMessageSnippet("larger than the size limit").Len() == 1
	}, waitFor, tick)
	require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{CustomMessage: customMessage("small")}))
	require.Eventually(t, func() bool { return len(h.handled.customData()) == 1 }, waitFor, tick)
	assert.Equal(t, []string{"small"}, h.handled.customData())
	assert.Zero(t, h.obs.stats().Failed)
}

// TestHTTPCompression: with compression the request bodies are gzipped
// (and the server decodes them); without, they are not.
func TestHTTPCompression(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		name := map[bool]string{true: "on", false: "off"}[on]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := testserver.Start(t)
			h, _ := startHTTP(t, srv, srv.HTTPURL(), func(h *harness) { h.Compression = on })
			assert.True(t, proto.Equal(h.Description, srv.Agent(h.uid()).Description))
			want := map[bool]string{true: "gzip", false: ""}[on]
			for _, hdr := range srv.RequestHeaders() {
				assert.Equal(t, want, hdr.Get("Content-Encoding"))
			}
		})
	}
}

// TestHTTPStopSendsDisconnect: Stop posts AgentDisconnect.
func TestHTTPStopSendsDisconnect(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t)
	h, c := startHTTP(t, srv, srv.HTTPURL(), func(h *harness) { h.PollingInterval = time.Hour })
	stopWithin(t, c, 2*time.Second)
	a := srv.Agent(h.uid())
	assert.True(t, a.Disconnected, "the last message carried AgentDisconnect")
	s := h.obs.stats()
	assert.Equal(t, Kind(0), s.Sent[len(s.Sent)-1])
}
