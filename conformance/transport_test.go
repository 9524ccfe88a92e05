package conformance

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/testserver"
)

// newUID is a fresh instance uid a server assigns.
func newUID() []byte {
	u := uuid.Must(uuid.NewV7())
	return u[:]
}

// assign is a server message assigning uid, padded with a custom message
// of pad bytes (for the size limits).
func assign(uid []byte, pad int) *protobufs.ServerToAgent {
	msg := &protobufs.ServerToAgent{AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: uid}}
	if pad > 0 {
		msg.CustomMessage = &protobufs.CustomMessage{Capability: "io.opampext.pad", Type: "pad", Data: make([]byte, pad)}
	}
	return msg
}

// checkWSHeaderZero: a message whose OpAMP header is not 0 is malformed and
// ignored; the client's own messages are binary with header 0.
func checkWSHeaderZero(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr))
	settle(t, r)
	odd, err := testserver.EncodeWS(1, assign(newUID(), 0))
	require.NoError(t, err)
	require.NoError(t, r.PushRaw(odd))
	quiet(300 * time.Millisecond)
	assert.Equal(t, a.settings.InstanceUID, a.InstanceUID(), "a message with header 1 was acted on")

	uid := newUID()
	require.NoError(t, r.Push(assign(uid, 0)))
	require.Eventually(t, func() bool { return a.hasUID(uid) }, waitFor, 10*time.Millisecond)
	for _, req := range r.Requests() {
		assert.True(t, req.Binary, "a text message")
		assert.Zero(t, req.WSHeader)
	}
}

// checkWSInboundLimit: a message over max_message_size is not processed.
func checkWSInboundLimit(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr), with(func(s *opampclient.Settings) { s.MaxMessageSize = 1024 }))
	settle(t, r)
	require.NoError(t, r.Push(assign(newUID(), 2048)))
	quiet(300 * time.Millisecond)
	assert.Equal(t, a.settings.InstanceUID, a.InstanceUID(), "an oversized message was processed")
	assert.Equal(t, 1, a.logs.FilterMessageSnippet("larger than the size limit").Len(), "the refusal is not recorded")
}

// checkWSInboundLimit1009: the client closes with 1009 after an oversized
// message (AgentDisconnect first, as for every reconnection) and the next
// connection starts with the full state.
func checkWSInboundLimit1009(t *testing.T, tr Transport) {
	r := raw(t)
	startAgent(t, tr, at(r, tr), with(func(s *opampclient.Settings) { s.MaxMessageSize = 1024 }))
	settle(t, r)
	require.NoError(t, r.Push(assign(newUID(), 2048)))
	r.WaitFor(t, waitFor, "a close frame with 1009 from the client", func(r *testserver.Raw) bool {
		for _, e := range events(r, testserver.EventClientClose) {
			if e.Conn == 1 && e.Code == websocket.CloseMessageTooBig {
				return true
			}
		}
		return false
	})
	assertGoodbyeBeforeClose(t, r, 1)
	r.WaitRequest(t, waitFor, "the full state on the next connection", func(req testserver.Request) bool {
		return req.Conn == 2 && isFull(req.Msg)
	})
}

// assertGoodbyeBeforeClose: on connection conn the client's last message
// carried AgentDisconnect and came before its close frame, and no later
// connection opened before that one ended.
func assertGoodbyeBeforeClose(t *testing.T, r *testserver.Raw, conn int) {
	t.Helper()
	var last *protobufs.AgentToServer
	closed, ended := false, false
	for _, e := range r.Events() {
		switch {
		case e.Conn == conn && e.Kind == testserver.EventMessage && e.Req.Msg != nil:
			assert.False(t, closed, "a message after the close frame")
			last = e.Req.Msg
		case e.Conn == conn && e.Kind == testserver.EventClientClose:
			closed = true
		case e.Conn == conn && e.Kind == testserver.EventEnd:
			ended = true
		case e.Kind == testserver.EventUpgrade && e.Conn > conn:
			assert.True(t, ended, "connection %d opened before connection %d ended:\n%s", e.Conn, conn, r.Log())
		}
	}
	require.NotNil(t, last)
	assert.NotNil(t, last.GetAgentDisconnect(), "the last message on connection %d lacks AgentDisconnect:\n%s", conn, r.Log())
	assert.True(t, closed, "no close frame from the client on connection %d", conn)
}

// checkLimitsConfigurable: max_message_size moves the inbound limit;
// max_send_size the outbound one.
func checkLimitsConfigurable(t *testing.T, tr Transport) {
	for _, tc := range []struct {
		name    string
		in      int
		applied bool
	}{{"under", 8192, true}, {"over", 1024, false}} {
		t.Run(tc.name, func(t *testing.T) {
			r, s := scripted(t)
			a := startAgent(t, tr, at(r, tr), with(func(st *opampclient.Settings) { st.MaxMessageSize = tc.in }))
			settle(t, r)
			uid := newUID()
			before := say(t, r, s, tr, assign(uid, 2048))
			answered(t, r, tr, before)
			assert.Equal(t, tc.applied, a.hasUID(uid))
		})
	}
	r := raw(t)
	startAgent(t, tr, at(r, tr), with(func(st *opampclient.Settings) { st.MaxSendSize = 2048 }), withConfig(big(4096)))
	settle(t, r)
	for _, req := range r.Requests() {
		assert.LessOrEqual(t, req.Size, 2048)
	}
}

// big is an effective config of about n bytes.
func big(n int) *protobufs.EffectiveConfig {
	return effectiveConfig("k: " + strings.Repeat("x", n))
}

// checkOutboundLimit: a report that would take a message over the limit
// is left out, the rest is sent, the discard is logged once and counted.
func checkOutboundLimit(t *testing.T, tr Transport) {
	const limit = 4096
	r := raw(t)
	a := startAgent(t, tr, at(r, tr), with(func(st *opampclient.Settings) {
		st.MaxSendSize = limit
		st.Heartbeat = 200 * time.Millisecond
	}), withConfig(big(3*limit)))
	first := r.WaitRequest(t, waitFor, "the state without the effective config", func(req testserver.Request) bool {
		return req.Msg.GetAgentDescription() != nil && req.Msg.GetHealth() != nil
	})
	assert.Nil(t, first.Msg.GetEffectiveConfig())
	require.Eventually(t, func() bool { return a.obs.discardedKinds()[opampclient.KindEffectiveConfig] == 1 }, waitFor, 10*time.Millisecond)

	// Another oversized config: discarded and counted again, logged once.
	a.setConfig(t, big(4*limit))
	require.Eventually(t, func() bool { return a.obs.discardedKinds()[opampclient.KindEffectiveConfig] == 2 }, waitFor, 10*time.Millisecond)
	// A config that fits goes out.
	a.setConfig(t, effectiveConfig("small: {}"))
	r.WaitRequest(t, waitFor, "the config that fits", func(req testserver.Request) bool { return req.Msg.GetEffectiveConfig() != nil })
	for _, req := range r.Requests() {
		assert.LessOrEqual(t, req.Size, limit, "a message over the limit was sent")
	}
	assert.Equal(t, 1, a.logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("larger than the send limit").Len(), "the discard is logged once")
}

// checkHTTPOneRequest: no request while one is unanswered, changes wait
// for the answer.
func checkHTTPOneRequest(t *testing.T, tr Transport) {
	r := raw(t, testserver.RawWithResponder(func(req testserver.Request) testserver.Reply {
		rep := testserver.RawDefaultReply(req)
		rep.Delay = 300 * time.Millisecond
		return rep
	}))
	a := startAgent(t, tr, at(r, tr))
	settle(t, r)
	for i := range 5 {
		require.NoError(t, a.SetHealth(&protobufs.ComponentHealth{Healthy: true, Status: "change", StatusTimeUnixNano: uint64(i + 1)}))
		quiet(50 * time.Millisecond)
	}
	r.WaitRequest(t, waitFor, "the last change", func(req testserver.Request) bool {
		return req.Msg.GetHealth().GetStatusTimeUnixNano() == 5
	})
	assert.Equal(t, 1, r.MaxConcurrentHTTP(), "two requests at once")
}

// checkHTTPContentType: every request says application/x-protobuf.
func checkHTTPContentType(t *testing.T, tr Transport) {
	r := raw(t)
	startAgent(t, tr, at(r, tr))
	settle(t, r)
	r.WaitFor(t, waitFor, "three requests", func(r *testserver.Raw) bool { return len(r.Requests()) >= 3 })
	for _, req := range r.Requests() {
		assert.Equal(t, "application/x-protobuf", req.Header.Get("Content-Type"))
	}
}

// checkHTTPGzip: with compression every body is gzip and says so.
func checkHTTPGzip(t *testing.T, tr Transport) {
	r := raw(t)
	startAgent(t, tr, at(r, tr), with(func(s *opampclient.Settings) { s.Compression = true }))
	settle(t, r)
	r.WaitFor(t, waitFor, "three requests", func(r *testserver.Raw) bool { return len(r.Requests()) >= 3 })
	for _, req := range r.Requests() {
		assert.Equal(t, "gzip", req.Header.Get("Content-Encoding"))
		assert.NotNil(t, req.Msg, "a body the server could not decode")
	}
}

// checkHTTPInstanceUIDHeader: every request names the agent in
// OpAMP-Instance-UID, in canonical UUID form, a new uid included.
func checkHTTPInstanceUIDHeader(t *testing.T, tr Transport) {
	r, s := scripted(t)
	startAgent(t, tr, at(r, tr))
	settle(t, r)
	uid := newUID()
	say(t, r, s, tr, assign(uid, 0))
	r.WaitRequest(t, waitFor, "a request with the new uid", func(req testserver.Request) bool {
		return string(req.Msg.GetInstanceUid()) == string(uid)
	})
	for _, req := range r.Requests() {
		want := uuid.UUID(req.Msg.GetInstanceUid()).String()
		assert.Equal(t, want, req.Header.Get("OpAMP-Instance-UID"), "seq %d", req.Msg.GetSequenceNum())
	}
}

// checkHTTP413: after 413 the same request is not sent again; the state
// goes without the part that does not fit.
func checkHTTP413(t *testing.T, tr Transport) {
	const serverLimit = 4096
	r := raw(t, testserver.RawWithSizeLimit(serverLimit))
	a := startAgent(t, tr, at(r, tr), withConfig(big(3*serverLimit)))
	got := r.WaitRequest(t, waitFor, "the state without the effective config", func(req testserver.Request) bool {
		return req.Msg.GetAgentDescription() != nil && req.Msg.GetHealth() != nil
	})
	assert.Nil(t, got.Msg.GetEffectiveConfig())
	quiet(500 * time.Millisecond)
	refused := events(r, testserver.EventRefused)
	assert.Len(t, refused, 1, "the refused request was sent again:\n%s", r.Log())
	assert.Equal(t, 1, a.obs.discardedKinds()[opampclient.KindEffectiveConfig])
}

// checkHTTPInboundLimit: an answer over the limit fails the exchange: it
// is not processed and the state is sent again.
func checkHTTPInboundLimit(t *testing.T, tr Transport) {
	r, s := scripted(t)
	a := startAgent(t, tr, at(r, tr), with(func(st *opampclient.Settings) { st.MaxMessageSize = 1024 }))
	settle(t, r)
	data, err := proto.Marshal(assign(newUID(), 2048))
	require.NoError(t, err)
	before := len(r.Requests())
	sayRaw(t, r, s, tr, data)
	next := waitAfter(t, r, before+1, "the request after the oversized answer", func(testserver.Request) bool { return true })
	assert.True(t, isFull(next.Msg), "the exchange that got an oversized answer counted as delivered")
	assert.Equal(t, a.settings.InstanceUID, a.InstanceUID(), "the oversized answer was processed")
}

// checkWSServer1009: a server that closes with 1009 gets, on the next
// connection, the state without the report that did not fit, and no second
// oversized message.
func checkWSServer1009(t *testing.T, tr Transport) {
	const serverLimit = 4096
	r := raw(t, testserver.RawWithSizeLimit(serverLimit))
	a := startAgent(t, tr, at(r, tr), withConfig(big(3*serverLimit)), with(func(s *opampclient.Settings) { s.ReconnectSpread = 0 }))
	got := r.WaitRequest(t, waitFor, "the state without the effective config", func(req testserver.Request) bool {
		return req.Conn == 2 && req.Msg.GetAgentDescription() != nil && req.Msg.GetHealth() != nil
	})
	assert.Nil(t, got.Msg.GetEffectiveConfig())
	quiet(500 * time.Millisecond)
	assert.Equal(t, 1, r.Count(testserver.EventServerClose), "the server had to refuse again:\n%s", r.Log())
	assert.Equal(t, 1, a.obs.discardedKinds()[opampclient.KindEffectiveConfig])
}
