package conformance

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/connsettings"
	"github.com/opampext/opampextension/internal/testserver"
)

// refusing is a server that refuses the agent: 401 to every WebSocket
// upgrade and HTTP request.
func refusing(t *testing.T) *testserver.Raw {
	return raw(t,
		testserver.RawWithUpgrade(func(*http.Request, int) (int, http.Header) { return http.StatusUnauthorized, nil }),
		testserver.RawWithResponder(func(testserver.Request) testserver.Reply { return testserver.Reply{Status: http.StatusUnauthorized} }))
}

// moveTo offers the endpoint of b on transport tr.
func moveTo(hash string, b *testserver.Raw, tr Transport) *protobufs.ServerToAgent {
	return opampOffer(hash, &protobufs.OpAMPConnectionSettings{DestinationEndpoint: at(b, tr)})
}

// record is the path of the extension's kept connection settings.
func (x *ext) record() string { return filepath.Join(x.dir, connsettings.Key(x.id.String())) }

// kept: the extension keeps accepted settings (a dropped record is an
// empty file).
func (x *ext) kept(t *testing.T) bool {
	t.Helper()
	info, err := os.Stat(x.record())
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	require.NoError(t, err)
	return info.Size() > 0
}

// firstAt is when the first message satisfying cond arrived, zero if none.
func firstAt(r *testserver.Raw, cond func(testserver.Request) bool) time.Time {
	for _, e := range r.Events() {
		if e.Kind == testserver.EventMessage && e.Req != nil && e.Req.Msg != nil && cond(*e.Req) {
			return e.At
		}
	}
	return time.Time{}
}

func anyMsg(testserver.Request) bool { return true }

// heard counts the messages with a connection settings status of st.
func heard(r *testserver.Raw, st protobufs.ConnectionSettingsStatuses) int {
	return countMsgs(r, func(m *protobufs.AgentToServer) bool { return m.GetConnectionSettingsStatus().GetStatus() == st })
}

// checkCSIgnoreWithoutCapability: an offer for a connection class whose
// capability the agent did not set changes nothing and is not answered:
// OpAMP settings to an agent without accepts_opamp_connection_settings,
// own metrics to one without reports_own_metrics, other connections
// (never advertised) to one that takes OpAMP settings.
func checkCSIgnoreWithoutCapability(t *testing.T, tr Transport) {
	cases := []struct {
		name   string
		accept bool
		offer  func(b *testserver.Raw) *protobufs.ServerToAgent
	}{
		{"opamp", false, func(b *testserver.Raw) *protobufs.ServerToAgent { return moveTo("x", b, tr) }},
		{"own_metrics", true, func(b *testserver.Raw) *protobufs.ServerToAgent {
			return &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
				Hash: []byte("x"), OwnMetrics: &protobufs.TelemetryConnectionSettings{DestinationEndpoint: "http://" + b.Addr() + "/v1/metrics"},
			}}
		}},
		{"other_connections", true, func(b *testserver.Raw) *protobufs.ServerToAgent {
			return &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
				Hash: []byte("x"), OtherConnections: map[string]*protobufs.OtherConnectionSettings{"otlp": {DestinationEndpoint: b.Addr()}},
			}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, s := scripted(t)
			b := raw(t)
			k := offersKeys(tr, at(a, tr), t.TempDir())
			k["capabilities"] = keys{"accepts_opamp_connection_settings": tc.accept}
			if !tc.accept {
				delete(k, "storage")
			}
			startExt(t, newExtName(), k)
			settle(t, a)
			before := say(t, a, s, tr, tc.offer(b))
			answered(t, a, tr, before)
			quiet(500 * time.Millisecond)
			assert.Empty(t, b.Events(), "the agent went where an offer it cannot take said")
			assert.False(t, hasCSStatus(a), "the agent answered an offer it cannot take")
			for _, m := range msgs(a) {
				caps := m.GetCapabilities()
				assert.Equal(t, tc.accept, caps&uint64(acceptsOpAMPSettings) != 0, "AcceptsOpAMPConnectionSettings")
				assert.Equal(t, tc.accept, caps&uint64(reportsCSStatus) != 0, "ReportsConnectionSettingsStatus")
				assert.Zero(t, caps&uint64(acceptsOtherSettings|reportsOwnMetrics), "a capability the config did not turn on")
			}
		})
	}
}

// checkCSApplying: while the offered settings are tried, the server in use
// hears APPLYING for the offer's hash.
func checkCSApplying(t *testing.T, tr Transport) {
	a, s := scripted(t)
	// The offered server takes its time to answer: the try lasts.
	b := raw(t, testserver.RawWithResponder(func(req testserver.Request) testserver.Reply {
		rep := testserver.RawDefaultReply(req)
		rep.Delay = 600 * time.Millisecond
		return rep
	}))
	startExt(t, newExtName(), offersKeys(tr, at(a, tr), t.TempDir()))
	settle(t, a)
	say(t, a, s, tr, moveTo("h1", b, tr))
	waitAfter(t, a, 0, "APPLYING on the server in use", csStatus("h1", csApplying))
	b.WaitRequest(t, waitFor, "APPLIED on the new server", csStatus("h1", csApplied))
	assert.True(t, firstAt(a, csStatus("h1", csApplying)).Before(firstAt(b, csStatus("h1", csApplied))))
}

// checkCSVerifyByConnecting: an offer is accepted only after the agent
// connected with it: the offered server got the full state and answered
// it before anyone hears APPLIED; a server that refuses the agent gets
// the offer FAILED, never APPLIED.
func checkCSVerifyByConnecting(t *testing.T, tr Transport) {
	t.Run("works", func(t *testing.T) {
		a, s := scripted(t)
		b := raw(t)
		startExt(t, newExtName(), offersKeys(tr, at(a, tr), t.TempDir()))
		settle(t, a)
		say(t, a, s, tr, moveTo("ok", b, tr))
		b.WaitRequest(t, waitFor, "APPLIED", csStatus("ok", csApplied))
		probe := firstAt(b, anyMsg)
		assert.True(t, isFull(msgs(b)[0]), "the first message on the offered connection is the full state")
		var answeredAt time.Time
		for _, e := range events(b, testserver.EventAnswer) {
			answeredAt = e.At
			break
		}
		require.False(t, answeredAt.IsZero())
		assert.False(t, answeredAt.Before(probe))
		assert.True(t, answeredAt.Before(firstAt(b, csStatus("ok", csApplied))), "APPLIED before the offered server answered")
		assert.Zero(t, heard(a, csApplied), "the old server heard APPLIED")
	})
	t.Run("refused", func(t *testing.T) {
		a, s := scripted(t)
		b := refusing(t)
		startExt(t, newExtName(), offersKeys(tr, at(a, tr), t.TempDir()))
		settle(t, a)
		say(t, a, s, tr, moveTo("no", b, tr))
		waitAfter(t, a, 0, "FAILED", csStatus("no", csFailed))
		assert.NotEmpty(t, b.Events(), "the offered server was never tried")
		assert.Zero(t, heard(a, csApplied), "APPLIED for a refused offer")
	})
}

// checkCSApplied: once connected with the offer, the agent reports
// APPLIED with the offer's hash on the new connection; the old server
// hears nothing more.
func checkCSApplied(t *testing.T, tr Transport) {
	a, s := scripted(t)
	b := raw(t)
	startExt(t, newExtName(), offersKeys(tr, at(a, tr), t.TempDir()))
	settle(t, a)
	say(t, a, s, tr, moveTo("moved", b, tr))
	req := b.WaitRequest(t, waitFor, "APPLIED", csStatus("moved", csApplied))
	assert.Empty(t, req.Msg.GetConnectionSettingsStatus().GetErrorMessage())
	n := len(msgs(a))
	quiet(3 * pollEvery)
	assert.Len(t, msgs(a), n, "the agent still talks to the old server")
}

// checkCSFailed: an offer whose connection fails is reported FAILED with
// why, nothing of it is kept, and the agent goes on over the connection it
// had (which never closed: there is nothing to reconnect).
func checkCSFailed(t *testing.T, tr Transport) {
	a, s := scripted(t)
	b := refusing(t)
	x := startExt(t, newExtName(), offersKeys(tr, at(a, tr), t.TempDir()))
	settle(t, a)
	say(t, a, s, tr, moveTo("bad", b, tr))
	req := waitAfter(t, a, 0, "FAILED", csStatus("bad", csFailed))
	assert.NotEmpty(t, req.Msg.GetConnectionSettingsStatus().GetErrorMessage())
	assert.False(t, x.kept(t), "a failed offer was kept")
	before := len(msgs(a))
	say(t, a, s, tr, &protobufs.ServerToAgent{Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState)})
	waitAfter(t, a, before, "the agent still on the old server", func(r testserver.Request) bool { return isFull(r.Msg) })
	if tr == WS {
		assert.Equal(t, 1, a.Count(testserver.EventUpgrade), "the old connection was dropped")
	}
}

// checkCSRevertAfterSwitch: offered settings that answered the try but
// then fail (the new server refuses every later connection) are left: the
// client goes back to the previous settings, reconnects, reports FAILED
// there, and the kept record goes back too (a restart goes to the old
// server).
func checkCSRevertAfterSwitch(t *testing.T, tr Transport) {
	a, s := scripted(t)
	b := raw(t,
		testserver.RawWithUpgrade(func(_ *http.Request, attempt int) (int, http.Header) {
			if attempt == 1 {
				return 0, nil
			}
			return http.StatusUnauthorized, nil
		}),
		testserver.RawWithResponder(func(req testserver.Request) testserver.Reply {
			rep := testserver.RawDefaultReply(req)
			if req.Transport == testserver.TransportHTTP && req.Conn > 1 {
				return testserver.Reply{Status: http.StatusUnauthorized}
			}
			// The try's answer waits for the old server's answer to the
			// poll carrying APPLYING (see the rule's reason).
			rep.Delay = 400 * time.Millisecond
			rep.Close = 1011 // the WebSocket ends right after the try
			return rep
		}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the offered server:\n%s", b.Log())
		}
	})
	dir := t.TempDir()
	name := newExtName()
	x := startExt(t, name, offersKeys(tr, at(a, tr), dir))
	settle(t, a)
	say(t, a, s, tr, moveTo("flaky", b, tr))
	b.WaitRequest(t, waitFor, "the try", anyMsg)
	// Three failed attempts with backoff come first.
	a.WaitRequest(t, 2*waitFor, "FAILED after going back", csStatus("flaky", csFailed))
	assert.False(t, x.kept(t), "the reverted offer is still kept")
	x.stop(t)
	n := len(msgs(a))
	startExt(t, name, offersKeys(tr, at(a, tr), dir))
	waitAfter(t, a, n, "the restarted agent on the old server", func(r testserver.Request) bool { return isFull(r.Msg) })
}
