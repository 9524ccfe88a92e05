package conformance

import (
	"bytes"
	"encoding/pem"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// heartbeating makes the extension's WebSocket agent send heartbeats
// often, so a test sees messages on both transports.
func heartbeating(k keys) keys {
	k["capabilities"].(keys)["reports_heartbeat"] = true
	k["heartbeat_interval"] = "150ms"
	return k
}

// delayed answers every message after d.
func delayed(d time.Duration) testserver.RawOption {
	return testserver.RawWithResponder(func(req testserver.Request) testserver.Reply {
		rep := testserver.RawDefaultReply(req)
		rep.Delay = d
		return rep
	})
}

// checkCSCandidate: nothing of an offer is written while it is tried; once
// it worked it is kept (0600), and a restart goes straight to it.
func checkCSCandidate(t *testing.T, tr Transport) {
	a, s := scripted(t)
	b := raw(t, delayed(time.Second))
	name, dir := newExtName(), t.TempDir()
	x := startExt(t, name, offersKeys(tr, at(a, tr), dir))
	settle(t, a)
	say(t, a, s, tr, moveTo("c1", b, tr))
	b.WaitRequest(t, waitFor, "the try", anyMsg)
	assert.False(t, x.kept(t), "a candidate was written before its connection worked")
	b.WaitRequest(t, waitFor, "APPLIED", csStatus("c1", csApplied))
	require.Eventually(t, func() bool { return x.kept(t) }, waitFor, 10*time.Millisecond)
	info, err := os.Stat(x.record())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	x.stop(t)
	n := len(msgs(a))
	startExt(t, name, offersKeys(tr, at(a, tr), dir))
	b.WaitRequest(t, waitFor, "the restarted agent on the offered server", func(r testserver.Request) bool {
		return isFull(r.Msg) && csStatus("c1", csApplied)(r)
	})
	assert.Len(t, msgs(a), n, "the restarted agent went to the local server first")
}

// switchedByHeaders starts an extension that takes connection settings,
// offers it a new header and waits for APPLIED: the agent has moved to new
// settings on the same server.
func switchedByHeaders(t *testing.T, tr Transport) *testserver.Raw {
	t.Helper()
	a, s := scripted(t)
	startExt(t, newExtName(), offersKeys(tr, at(a, tr), t.TempDir()))
	settle(t, a)
	say(t, a, s, tr, headerOffer("hd", "X-Token", "two"))
	a.WaitRequest(t, waitFor, "APPLIED", csStatus("hd", csApplied))
	return a
}

// checkCSDisconnectFirst: the offered connection (here: new headers for
// the same server) is opened while the one in use stays open; the old one
// then ends without AgentDisconnect.
func checkCSDisconnectFirst(t *testing.T, tr Transport) {
	a := switchedByHeaders(t, tr)
	a.WaitFor(t, waitFor, "the old connection's end", func(r *testserver.Raw) bool {
		for _, e := range r.Events() {
			if e.Kind == testserver.EventEnd && e.Conn == 1 {
				return true
			}
		}
		return false
	})
	assert.Equal(t, 2, a.MaxOpenConns(), "the new connection was not made beside the old one")
	for _, req := range a.Requests() {
		if req.Conn == 1 {
			assert.Nil(t, req.Msg.GetAgentDisconnect(), "the old connection said goodbye")
		}
	}
}

// checkHTTPDisconnectSwitch: over HTTP, the agent that takes new
// connection settings sends no AgentDisconnect: polls go on, the ones on
// the new settings included, and none says goodbye.
func checkHTTPDisconnectSwitch(t *testing.T, tr Transport) {
	a := switchedByHeaders(t, tr)
	waitAfter(t, a, len(msgs(a))+2, "polls on the new settings", func(r testserver.Request) bool {
		return r.Header.Get("X-Token") == "two"
	})
	for _, m := range msgs(a) {
		assert.Nil(t, m.GetAgentDisconnect(), "a goodbye while the agent runs")
	}
}

// checkCSStatusUnchangedUnset: the status goes once per change, and again
// in a full state; heartbeats and polls carry none.
func checkCSStatusUnchangedUnset(t *testing.T, tr Transport) {
	a, s := scripted(t)
	startExt(t, newExtName(), heartbeating(offersKeys(tr, at(a, tr), t.TempDir())))
	settle(t, a)
	say(t, a, s, tr, headerOffer("u1", "X-Token", "one"))
	a.WaitRequest(t, waitFor, "APPLIED", csStatus("u1", csApplied))
	n := len(msgs(a))
	waitAfter(t, a, n+3, "more messages", anyMsg)
	for _, m := range msgs(a)[n:] {
		if !isFull(m) {
			assert.Nil(t, m.GetConnectionSettingsStatus(), "an unchanged status was sent again")
		}
	}
	before := say(t, a, s, tr, &protobufs.ServerToAgent{Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState)})
	full := waitAfter(t, a, before, "the full state", func(r testserver.Request) bool { return isFull(r.Msg) })
	assert.True(t, csStatus("u1", csApplied)(full), "the full state lacks the status")
}

// headersSeen lists the HTTP headers of the agent's connections, in order:
// WebSocket upgrades, HTTP requests.
func headersSeen(r *testserver.Raw, tr Transport) []http.Header {
	var out []http.Header
	for _, e := range r.Events() {
		if (tr == WS && e.Kind == testserver.EventUpgrade) || (tr == HTTP && e.Kind == testserver.EventMessage) {
			out = append(out, e.Header)
		}
	}
	return out
}

// checkCSHeaders: an agent that connects without credentials is offered a
// header (TOFU): every message from the APPLIED on (on the connection the
// switch made) carries it, also after a restart. (Over HTTP a poll under
// way during the try may still go without it.)
func checkCSHeaders(t *testing.T, tr Transport) {
	a, s := scripted(t)
	name, dir := newExtName(), t.TempDir()
	x := startExt(t, name, heartbeating(offersKeys(tr, at(a, tr), dir)))
	settle(t, a)
	say(t, a, s, tr, headerOffer("tofu", "Authorization", "Bearer issued"))
	a.WaitRequest(t, waitFor, "APPLIED", csStatus("tofu", csApplied))
	waitAfter(t, a, len(a.Requests()), "one more message", anyMsg)
	reqs := a.Requests()
	from := slices.IndexFunc(reqs, func(r testserver.Request) bool { return r.Msg != nil && csStatus("tofu", csApplied)(r) })
	require.GreaterOrEqual(t, from, 1)
	assert.Empty(t, reqs[0].Header.Get("Authorization"))
	for _, r := range reqs[from:] {
		assert.Equal(t, "Bearer issued", r.Header.Get("Authorization"), "a message after the switch without the header")
	}
	x.stop(t)
	n := len(a.Requests())
	startExt(t, name, offersKeys(tr, at(a, tr), dir))
	first := waitAfter(t, a, n, "the restarted agent's first message", anyMsg)
	assert.Equal(t, "Bearer issued", first.Header.Get("Authorization"), "the restarted agent lost the header")
}

// checkCSHeadersReplace: offered headers are set over the ones in use: a
// local header the offer leaves out is still sent.
func checkCSHeadersReplace(t *testing.T, tr Transport) {
	a, s := scripted(t)
	k := heartbeating(offersKeys(tr, at(a, tr), t.TempDir()))
	k["server"].(keys)[map[Transport]string{WS: "ws", HTTP: "http"}[tr]].(keys)["headers"] = keys{"X-Local": "kept", "X-Token": "old"}
	startExt(t, newExtName(), k)
	settle(t, a)
	say(t, a, s, tr, headerOffer("r1", "X-Token", "new"))
	a.WaitRequest(t, waitFor, "APPLIED", csStatus("r1", csApplied))
	waitAfter(t, a, len(a.Requests()), "one more message", anyMsg)
	seen := headersSeen(a, tr)
	last := seen[len(seen)-1]
	assert.Equal(t, "new", last.Get("X-Token"))
	assert.Equal(t, "kept", last.Get("X-Local"), "the local header the offer left out")
}

// csrServer announces AcceptsConnectionSettingsRequest when accept.
func csrServer(t *testing.T, accept bool) *testserver.Raw {
	caps := uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus |
		protobufs.ServerCapabilities_ServerCapabilities_AcceptsEffectiveConfig |
		protobufs.ServerCapabilities_ServerCapabilities_OffersConnectionSettings)
	if accept {
		caps |= uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsConnectionSettingsRequest)
	}
	return raw(t, testserver.RawWithResponder(func(testserver.Request) testserver.Reply {
		return testserver.Reply{Msg: &protobufs.ServerToAgent{Capabilities: caps}}
	}))
}

// csrKeys asks for a client certificate by CSR.
func csrKeys(k keys) keys {
	k["connection_settings"].(keys)["certificate_request"] = true
	return k
}

// csrOf is the CSR a message carries, nil if none.
func csrOf(m *protobufs.AgentToServer) []byte {
	return m.GetConnectionSettingsRequest().GetOpamp().GetCertificateRequest().GetCsr()
}

// checkCSRServerCapability: a CSR goes to a server that accepts
// connection settings requests, and to no other.
func checkCSRServerCapability(t *testing.T, tr Transport) {
	for _, accept := range []bool{false, true} {
		r := csrServer(t, accept)
		startExt(t, newExtName(), csrKeys(heartbeating(offersKeys(tr, at(r, tr), t.TempDir()))))
		if accept {
			req := r.WaitRequest(t, waitFor, "the CSR", func(req testserver.Request) bool { return csrOf(req.Msg) != nil })
			block, _ := pem.Decode(csrOf(req.Msg))
			require.NotNil(t, block)
			assert.Equal(t, "CERTIFICATE REQUEST", block.Type)
			continue
		}
		settle(t, r)
		waitAfter(t, r, len(r.Requests()), "more messages", anyMsg)
		quiet(300 * time.Millisecond)
		assert.Zero(t, countMsgs(r, func(m *protobufs.AgentToServer) bool { return m.GetConnectionSettingsRequest() != nil }),
			"a CSR to a server that does not accept one")
	}
}

// checkCSRTLS: the CSR goes over a plain connection too, when the local
// config names one.
func checkCSRTLS(t *testing.T, tr Transport) {
	r := csrServer(t, true)
	require.False(t, bytes.HasPrefix([]byte(at(r, tr)), []byte("wss")) || bytes.HasPrefix([]byte(at(r, tr)), []byte("https")))
	startExt(t, newExtName(), csrKeys(offersKeys(tr, at(r, tr), t.TempDir())))
	r.WaitRequest(t, waitFor, "the CSR over a plain connection", func(req testserver.Request) bool { return csrOf(req.Msg) != nil })
}

// checkCSEphemeral: taking OpAMP connection settings needs
// storage.directory: no agent takes a certificate it cannot keep.
func checkCSEphemeral(t *testing.T, tr Transport) {
	k := offersKeys(tr, "ws://127.0.0.1:1/v1/opamp", t.TempDir())
	if tr == HTTP {
		k = offersKeys(tr, "http://127.0.0.1:1/v1/opamp", t.TempDir())
	}
	_, err := config(t, k)
	require.NoError(t, err)
	delete(k, "storage")
	_, err = config(t, k)
	assert.Error(t, err, "accepts_opamp_connection_settings without storage.directory")
}

// checkCSEndpoint: an offered endpoint that is no WebSocket or HTTP URL
// is FAILED; an offer without one keeps the endpoint in use.
func checkCSEndpoint(t *testing.T, tr Transport) {
	a, s := scripted(t)
	startExt(t, newExtName(), offersKeys(tr, at(a, tr), t.TempDir()))
	settle(t, a)
	say(t, a, s, tr, opampOffer("ftp", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ftp://" + a.Addr() + testserver.Path}))
	req := waitAfter(t, a, 0, "FAILED", csStatus("ftp", csFailed))
	assert.NotEmpty(t, req.Msg.GetConnectionSettingsStatus().GetErrorMessage())
	say(t, a, s, tr, headerOffer("same", "X-Token", "t"))
	a.WaitRequest(t, waitFor, "APPLIED on the same server", csStatus("same", csApplied))
}

// checkCSEndpointTransport: an endpoint of the other transport is FAILED;
// the agent stays where it is.
func checkCSEndpointTransport(t *testing.T, tr Transport) {
	a, s := scripted(t)
	b := raw(t)
	startExt(t, newExtName(), offersKeys(tr, at(a, tr), t.TempDir()))
	settle(t, a)
	other := map[Transport]Transport{WS: HTTP, HTTP: WS}[tr]
	say(t, a, s, tr, moveTo("other", b, other))
	waitAfter(t, a, 0, "FAILED", csStatus("other", csFailed))
	assert.Empty(t, b.Events(), "the agent tried the other transport")
}
