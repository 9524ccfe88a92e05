package conformance

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/testserver"
)

// TestInteropOpampGo runs the behaviours the conformance suite fixed
// against opamp-go's own server package (internal/testserver's Server), the
// server most fleets run: what follows the specification must still work
// with it.
func TestInteropOpampGo(t *testing.T) {
	behaviours := []struct {
		name string
		run  func(t *testing.T, tr Transport)
	}{
		{"full state first, sequence without gaps", interopStatus},
		{"offered heartbeat interval", interopHeartbeat},
		{"instance uid header", interopUIDHeader},
		{"report over the send limit left out", interopSendLimit},
		{"unavailable, then the state again", interopUnavailable},
		{"goodbye", interopGoodbye},
		{"connection settings: moved, then a refused offer", interopConnectionSettings},
	}
	for _, b := range behaviours {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tr := range both {
				t.Run(string(tr), func(t *testing.T) { b.run(t, tr) })
			}
		})
	}
}

// opampGo starts opamp-go's server with a responder (nil: the default).
func opampGo(t *testing.T, r testserver.Responder) *testserver.Server {
	if r == nil {
		return testserver.Start(t)
	}
	return testserver.Start(t, testserver.WithResponder(r))
}

func goURL(s *testserver.Server, tr Transport) string {
	if tr == HTTP {
		return s.HTTPURL()
	}
	return s.WSURL()
}

// goAgent waits for the agent's record on s to satisfy cond.
func goAgent(t *testing.T, s *testserver.Server, a *agent, what string, cond func(*testserver.AgentState) bool) *testserver.AgentState {
	t.Helper()
	uid := uuid.UUID(a.uid()).String()
	var got *testserver.AgentState
	s.WaitFor(t, waitFor, func(s *testserver.Server) bool {
		got = s.Agent(uid)
		return got != nil && cond(got)
	})
	require.NotNil(t, got, what)
	return got
}

func interopStatus(t *testing.T, tr Transport) {
	s := opampGo(t, nil)
	a := startAgent(t, tr, goURL(s, tr), chatty)
	st := goAgent(t, s, a, "messages", func(st *testserver.AgentState) bool { return st.MessageCount >= 4 })
	assert.True(t, isFull(st.Messages[0]))
	for i, seq := range st.SequenceNums {
		assert.Equal(t, uint64(i), seq)
	}
}

func interopHeartbeat(t *testing.T, tr Transport) {
	var offered atomic.Bool
	s := opampGo(t, func(_ string, _ *protobufs.AgentToServer) *protobufs.ServerToAgent {
		if offered.Swap(true) {
			return &protobufs.ServerToAgent{}
		}
		return offer(1)
	})
	a := startAgent(t, tr, goURL(s, tr), withCaps(reportsHeartbeat), with(func(st *opampclient.Settings) {
		st.PollingInterval = 30 * time.Second
		st.Heartbeat = 30 * time.Second
	}))
	start := time.Now()
	goAgent(t, s, a, "heartbeats at the offered interval", func(st *testserver.AgentState) bool { return st.MessageCount >= 3 })
	assert.Less(t, time.Since(start), 5*time.Second)
}

func interopUIDHeader(t *testing.T, tr Transport) {
	if tr == WS {
		t.Skip("the header is an HTTP rule")
	}
	s := opampGo(t, nil)
	a := startAgent(t, tr, goURL(s, tr))
	st := goAgent(t, s, a, "polls", func(st *testserver.AgentState) bool { return st.MessageCount >= 2 })
	for _, h := range st.Headers {
		assert.Equal(t, uuid.UUID(a.uid()).String(), h.Get("OpAMP-Instance-UID"))
	}
}

func interopSendLimit(t *testing.T, tr Transport) {
	s := opampGo(t, nil)
	a := startAgent(t, tr, goURL(s, tr), with(func(st *opampclient.Settings) { st.MaxSendSize = 4096 }), withConfig(big(8192)))
	st := goAgent(t, s, a, "the state", func(st *testserver.AgentState) bool { return st.Description != nil && st.Health != nil })
	assert.Nil(t, st.EffectiveConfig)
	require.Eventually(t, func() bool { return a.obs.discardedKinds()[opampclient.KindEffectiveConfig] == 1 }, waitFor, 10*time.Millisecond)
}

func interopUnavailable(t *testing.T, tr Transport) {
	var refused atomic.Bool
	s := opampGo(t, func(_ string, _ *protobufs.AgentToServer) *protobufs.ServerToAgent {
		if refused.Swap(true) {
			return &protobufs.ServerToAgent{}
		}
		return unavailable(300 * time.Millisecond).Msg
	})
	a := startAgent(t, tr, goURL(s, tr), chatty, with(func(st *opampclient.Settings) { st.ReconnectSpread = 0 }))
	st := goAgent(t, s, a, "the full state twice", func(st *testserver.AgentState) bool {
		n := 0
		for _, m := range st.Messages {
			if isFull(m) && m.GetEffectiveConfig() != nil {
				n++
			}
		}
		return n >= 2
	})
	assert.NotNil(t, st.EffectiveConfig)
}

func interopGoodbye(t *testing.T, tr Transport) {
	s := opampGo(t, nil)
	a := startAgent(t, tr, goURL(s, tr))
	goAgent(t, s, a, "the state", func(st *testserver.AgentState) bool { return st.Description != nil })
	// Over HTTP the goodbye goes once the client has the server's answer.
	require.Eventually(t, a.Connected, waitFor, 10*time.Millisecond)
	a.stop(t)
	goAgent(t, s, a, "the goodbye", func(st *testserver.AgentState) bool { return st.Disconnected })
}

// interopConnectionSettings: the real extension, moved by an offer from
// one opamp-go server to another, reports APPLIED there; an offer to a
// server that refuses it is FAILED and it stays.
func interopConnectionSettings(t *testing.T, tr Transport) {
	from, to := opampGo(t, nil), opampGo(t, nil)
	refuses := testserver.Start(t, testserver.WithOnConnecting(func(*http.Request) (bool, int) { return false, http.StatusForbidden }))
	startExt(t, newExtName(), offersKeys(tr, goURL(from, tr), t.TempDir()))
	uid := from.WaitAgent(t, waitFor, func(st *testserver.AgentState) bool { return st.Description != nil }).UID
	statusIs := func(hash string, want protobufs.ConnectionSettingsStatuses) func(*testserver.AgentState) bool {
		return func(st *testserver.AgentState) bool {
			cs := st.ConnectionSettingsStatus
			return st.UID == uid && string(cs.GetLastConnectionSettingsHash()) == hash && cs.GetStatus() == want
		}
	}
	require.NoError(t, from.Send(uid, opampOffer("move", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: goURL(to, tr)})))
	to.WaitAgent(t, waitFor, statusIs("move", csApplied))
	require.NoError(t, to.Send(uid, opampOffer("refused", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: goURL(refuses, tr)})))
	to.WaitAgent(t, waitFor, statusIs("refused", csFailed))
	assert.Empty(t, refuses.AgentUIDs(), "the refusing server has the agent")
}
