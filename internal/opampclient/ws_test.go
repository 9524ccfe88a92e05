package opampclient

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/testserver"
)

// wsURL is the OpAMP WebSocket endpoint at addr.
func wsURL(addr string) string { return "ws://" + addr + testserver.Path }

// startWS starts a server, a forwarder in front of it (to count and cut
// the connection's bytes) and a connected WebSocket client; it returns once
// the server holds the client's initial state.
func startWS(t *testing.T, configure func(h *harness)) (*testserver.Server, *fixture, *harness, *Client) {
	t.Helper()
	srv := testserver.Start(t)
	fw := startForwarder(t, srv.Addr())
	h := newHarness(wsURL(fw.addr()))
	if configure != nil {
		configure(h)
	}
	c := h.start(t)
	srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.CustomCapabilities != nil })
	return srv, fw, h, c
}

// TestWSConnectsWithFullState: the first message is the full state, with
// uid, capabilities and sequence number 0; the observer sees every byte the
// network carried and every message.
func TestWSConnectsWithFullState(t *testing.T) {
	srv, fw, h, c := startWS(t, nil)
	a := srv.Agent(h.uid())
	require.NotNil(t, a)
	first := a.Messages[0]
	assert.Equal(t, uint64(0), first.GetSequenceNum())
	assert.True(t, proto.Equal(h.Description, first.GetAgentDescription()))
	assert.True(t, proto.Equal(h.Health, first.GetHealth()))
	assert.Equal(t, uint64(h.Capabilities), first.GetCapabilities())
	assert.Equal(t, testserver.TransportWebSocket, a.Transport)
	assert.True(t, c.Connected())
	assert.Equal(t, h.InstanceUID, c.InstanceUID())

	require.Eventually(t, func() bool {
		s := h.obs.stats()
		a := srv.Agent(h.uid())
		return s.BytesSent == int(fw.fromClient.Load()) && s.BytesReceived == int(fw.toClient.Load()) &&
			s.Received == len(a.Sent) && len(s.Sent) == a.MessageCount
	}, waitFor, tick, "observer %+v, forwarder %d/%d", h.obs.stats(), fw.fromClient.Load(), fw.toClient.Load())
	s := h.obs.stats()
	a = srv.Agent(h.uid())
	// Bytes include the upgrade and the WebSocket framing.
	assert.Greater(t, s.BytesSent, a.Bytes+100)
	assert.Greater(t, s.BytesReceived, 100)
	assert.Equal(t, 1, s.Dialed)
	assert.Equal(t, 1, s.Connected)
	assert.Zero(t, s.Failed)
	assert.Equal(t, KindAgentDescription|KindHealth, s.Sent[0]&(KindAgentDescription|KindHealth))
	assert.Equal(t, 1, h.handled.connects())
}

// TestWSInstanceUIDFromServer: a valid new uid is adopted, told to the
// handler and used from the next message on; an all-zero or wrongly sized
// one is ignored.
func TestWSInstanceUIDFromServer(t *testing.T) {
	fresh := uuid.New()
	tests := []struct {
		name  string
		uid   []byte
		adopt bool
	}{
		{"valid", fresh[:], true},
		{"all zero", make([]byte, 16), false},
		{"too short", fresh[:15], false},
		{"too long", append(fresh[:], 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, h, c := startWS(t, nil)
			require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{
				AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: tt.uid},
			}))
			// Messages are processed in order: once the marker is in, the
			// identification has been handled.
			require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{CustomMessage: customMessage("marker")}))
			require.Eventually(t, func() bool { return len(h.handled.customData()) == 1 }, waitFor, tick)
			if !tt.adopt {
				assert.Equal(t, h.InstanceUID, c.InstanceUID())
				assert.Empty(t, h.handled.newUIDs())
				return
			}
			assert.Equal(t, types.InstanceUid(fresh), c.InstanceUID())
			assert.Equal(t, [][]byte{fresh[:]}, h.handled.newUIDs())
			require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: false}))
			got := srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.UID == fresh.String() })
			assert.False(t, got.Health.GetHealthy())
		})
	}
}

// TestWSMaxMessageSize: a server message over the limit is refused with a
// warning and ends the connection (the client closes it with 1009); the
// next connection delivers messages within the limit.
func TestWSMaxMessageSize(t *testing.T) {
	srv, _, h, _ := startWS(t, func(h *harness) { h.MaxMessageSize = 1024 })
	require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{CustomMessage: customMessage(strings.Repeat("x", 2048))}))
	require.Eventually(t, func() bool { return h.obs.stats().Dialed == 2 && srv.Agent(h.uid()).Connected }, waitFor, tick)
	for _, data := range []string{strings.Repeat("y", 900), "small"} {
		require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{CustomMessage: customMessage(data)}))
	}
	require.Eventually(t, func() bool { return len(h.handled.customData()) == 2 }, waitFor, tick)
	assert.Equal(t, []string{strings.Repeat("y", 900), "small"}, h.handled.customData())
	refused := h.logs.FilterMessageSnippet("larger than the size limit")
	require.Equal(t, 1, refused.Len(), "warnings: %v", h.warnings())
	assert.Equal(t, int64(1024), refused.All()[0].ContextMap()["max_message_size"])
	assert.Equal(t, 1, h.obs.stats().Disconnected)
}

// TestWSReconnectResendsFullState: after the server side drops the
// connection, the client redials and sends its whole state again.
func TestWSReconnectResendsFullState(t *testing.T) {
	srv, fw, h, _ := startWS(t, nil)
	fw.dropAll()
	a := srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return withDescription(a.Messages) == 2 })
	var full *protobufs.AgentToServer
	for _, m := range a.Messages[1:] {
		if m.GetAgentDescription() != nil {
			full = m
		}
	}
	require.NotNil(t, full)
	assert.True(t, proto.Equal(h.Health, full.GetHealth()), "health resent")
	assert.NotNil(t, full.GetCustomCapabilities(), "custom capabilities resent")
	for i := 1; i < len(a.SequenceNums); i++ {
		assert.Greater(t, a.SequenceNums[i], a.SequenceNums[i-1])
	}
	require.Eventually(t, func() bool { return h.obs.stats().Connected == 2 }, waitFor, tick)
	s := h.obs.stats()
	assert.Equal(t, 1, s.Disconnected)
	assert.Equal(t, 2, s.Dialed)
	assert.Equal(t, 2, h.handled.connects())
}

// TestWSStopSendsDisconnect: Stop says goodbye and closes the connection.
func TestWSStopSendsDisconnect(t *testing.T) {
	srv, _, h, c := startWS(t, nil)
	before := srv.Agent(h.uid()).MessageCount
	require.True(t, c.Connected())
	stopWithin(t, c, 2*time.Second)
	assert.False(t, c.Connected(), "a stopped client is not connected")
	a := srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.Disconnected })
	assert.Equal(t, before+1, a.MessageCount)
	assert.Equal(t, a.SequenceNums[before-1]+1, a.SequenceNums[before])
	srv.WaitFor(t, waitFor, func(s *testserver.Server) bool { return s.Connections() == 0 })
	s := h.obs.stats()
	assert.Equal(t, Kind(0), s.Sent[len(s.Sent)-1], "the goodbye is counted as sent")
}

// TestWSStopDuringDial: a server or proxy that accepts the TCP connection
// and then says nothing does not hold Stop up.
func TestWSStopDuringDial(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness, silent string)
	}{
		{"server", func(h *harness, silent string) { h.URL = wsURL(silent) }},
		{"proxy", func(h *harness, silent string) { h.ProxyURL = "http://" + silent }},
		{"proxy with headers", func(h *harness, silent string) {
			h.ProxyURL = "http://" + silent
			h.ProxyHeader = http.Header{"X-Proxy-Token": {"t"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			silent := startSilent(t)
			h := newHarness(wsURL("127.0.0.1:1"))
			tt.setup(h, silent.addr())
			c := h.start(t)
			require.Eventually(t, func() bool { return silent.fromClient.Load() > 0 }, waitFor, tick,
				"the client did not send its request")
			stopWithin(t, c, time.Second)
			assert.Zero(t, h.obs.stats().Connected)
		})
	}
}
