package conformance

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/testserver"
)

// refuseFirst refuses the first n connection attempts (upgrades or polls)
// with status and header.
func refuseFirst(t *testing.T, tr Transport, n, status int, header http.Header) *testserver.Raw {
	t.Helper()
	if tr == WS {
		return raw(t, testserver.RawWithUpgrade(func(_ *http.Request, attempt int) (int, http.Header) {
			if attempt <= n {
				return status, header
			}
			return 0, nil
		}))
	}
	count := 0
	r, s := scripted(t)
	s.setRule(func(testserver.Request) (testserver.Reply, bool) {
		count++ // the responder runs on one request at a time here
		if count <= n {
			return testserver.Reply{Status: status, Header: header}, true
		}
		return testserver.Reply{}, false
	})
	return r
}

// checkConnectBackoff: refused attempts are retried further and further
// apart (1 s, 2 s... each drawn from its upper half).
func checkConnectBackoff(t *testing.T, tr Transport) {
	r := refuseFirst(t, tr, 3, http.StatusInternalServerError, nil)
	startAgent(t, tr, at(r, tr))
	settle(t, r)
	g := gaps(attemptTimes(r, tr))
	require.GreaterOrEqual(t, len(g), 3)
	within(t, g[0], 400*time.Millisecond, 1500*time.Millisecond, "the first retry")
	within(t, g[1], 900*time.Millisecond, 2500*time.Millisecond, "the second retry")
	within(t, g[2], 1900*time.Millisecond, 4500*time.Millisecond, "the third retry")
}

// checkConnectThrottling: Retry-After holds every attempt, heartbeats and
// polls included.
func checkConnectThrottling(t *testing.T, tr Transport) {
	for _, date := range []bool{false, true} {
		retry := "2"
		if date {
			// A date is whole seconds: 3 s from now is 2 s at least.
			retry = time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
		}
		r := refuseFirst(t, tr, 1, http.StatusServiceUnavailable, http.Header{"Retry-After": {retry}})
		startAgent(t, tr, at(r, tr), chatty)
		settle(t, r)
		g := gaps(attemptTimes(r, tr))
		assert.GreaterOrEqual(t, g[0], 1900*time.Millisecond, "Retry-After %s not honoured", retry)
	}
	r := refuseFirst(t, tr, 1, http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}})
	startAgent(t, tr, at(r, tr))
	settle(t, r)
	assert.GreaterOrEqual(t, gaps(attemptTimes(r, tr))[0], 1900*time.Millisecond, "429 Retry-After not honoured")
}

func checkWSClose(t *testing.T, tr Transport) {
	r := raw(t)
	a := startAgent(t, tr, at(r, tr))
	settle(t, r)
	a.stop(t)
	assertGoodbyeBeforeClose(t, r, 1)
	for _, e := range events(r, testserver.EventClientClose) {
		assert.Equal(t, websocket.CloseNormalClosure, e.Code)
	}
}

func checkHTTPDisconnect(t *testing.T, tr Transport) {
	checkDisconnectLast(t, tr)
}

// checkWSReconnect: after a lost connection the first redial comes within
// the reconnect spread, at once with none (departure: see the rule).
func checkWSReconnect(t *testing.T, tr Transport) {
	for _, spread := range []time.Duration{0, 400 * time.Millisecond} {
		r := raw(t)
		startAgent(t, tr, at(r, tr), with(func(s *opampclient.Settings) { s.ReconnectSpread = spread }))
		settle(t, r)
		quiet(stable) // a connection dropped sooner counts as a failed attempt
		require.NoError(t, r.CloseConn(websocket.CloseGoingAway))
		r.WaitFor(t, waitFor, "the redial", func(r *testserver.Raw) bool { return r.Count(testserver.EventUpgrade) == 2 })
		var closedAt, redialAt time.Time
		for _, e := range r.Events() {
			switch {
			case e.Kind == testserver.EventServerClose && closedAt.IsZero():
				closedAt = e.At
			case e.Kind == testserver.EventUpgrade && e.Conn == 2:
				redialAt = e.At
			}
		}
		assert.LessOrEqual(t, redialAt.Sub(closedAt), spread+500*time.Millisecond, "spread %v", spread)
	}
}

// stable is how long a connection must last for its loss to be a
// reconnection rather than a failed attempt (the client's minStable).
const stable = 2100 * time.Millisecond

// checkWSReconnectBackoff: once the redial fails, attempts back off.
func checkWSReconnectBackoff(t *testing.T, tr Transport) {
	r := raw(t, testserver.RawWithUpgrade(func(_ *http.Request, attempt int) (int, http.Header) {
		if attempt == 2 || attempt == 3 {
			return http.StatusBadGateway, nil
		}
		return 0, nil
	}))
	startAgent(t, tr, at(r, tr), with(func(s *opampclient.Settings) { s.ReconnectSpread = 0 }))
	settle(t, r)
	quiet(stable)
	require.NoError(t, r.CloseConn(websocket.CloseGoingAway))
	r.WaitFor(t, waitFor, "the second connection", func(r *testserver.Raw) bool { return r.Count(testserver.EventUpgrade) == 2 })
	g := gaps(attemptTimes(r, tr)[1:])
	require.Len(t, g, 2)
	within(t, g[0], 400*time.Millisecond, 1500*time.Millisecond, "the first retry")
	within(t, g[1], 900*time.Millisecond, 2500*time.Millisecond, "the second retry")
}

// checkWSOneConnection: never two connections at once; a reconnection
// the client decides on (an unanswered keep-alive ping) sends
// AgentDisconnect and closes before it redials.
func checkWSOneConnection(t *testing.T, tr Transport) {
	r := raw(t, testserver.RawIgnorePings())
	startAgent(t, tr, at(r, tr), with(func(s *opampclient.Settings) {
		s.ReconnectSpread = 0
		s.KeepAliveIdle = 300 * time.Millisecond
		s.PongWait = 300 * time.Millisecond
	}))
	settle(t, r)
	r.WaitFor(t, waitFor, "a redial after the unanswered ping", func(r *testserver.Raw) bool {
		return r.Count(testserver.EventUpgrade) >= 2
	})
	assertGoodbyeBeforeClose(t, r, 1)
	assert.Equal(t, 1, r.MaxOpenConns(), "two connections at once")
}

// checkBadRequest: a message answered BAD_REQUEST is not sent again.
func checkBadRequest(t *testing.T, tr Transport) {
	r, s := scripted(t)
	s.then(testserver.Reply{Msg: &protobufs.ServerToAgent{ErrorResponse: &protobufs.ServerErrorResponse{
		Type: protobufs.ServerErrorResponseType_ServerErrorResponseType_BadRequest, ErrorMessage: "no",
	}}})
	startAgent(t, tr, at(r, tr), chatty)
	settle(t, r)
	messages(t, r, 5)
	assert.Equal(t, 1, countMsgs(r, isFull), "the refused report was sent again:\n%s", r.Log())
}

// unavailable is an UNAVAILABLE error response, with retry_after unless 0.
func unavailable(retry time.Duration) testserver.Reply {
	er := &protobufs.ServerErrorResponse{Type: protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable, ErrorMessage: "busy"}
	if retry > 0 {
		er.Details = &protobufs.ServerErrorResponse_RetryInfo{RetryInfo: &protobufs.RetryInfo{RetryAfterNanoseconds: uint64(retry)}}
	}
	return testserver.Reply{Msg: &protobufs.ServerToAgent{ErrorResponse: er}}
}

// checkUnavailable: UNAVAILABLE disconnects (WebSocket, after
// AgentDisconnect), waits retry_after, and the refused state is sent again.
func checkUnavailable(t *testing.T, tr Transport) {
	const retry = 1500 * time.Millisecond
	r, s := scripted(t)
	s.then(unavailable(retry))
	startAgent(t, tr, at(r, tr), chatty, with(func(st *opampclient.Settings) { st.ReconnectSpread = 0 }))
	settle(t, r)
	again := waitAfter(t, r, 1, "the refused state again", func(req testserver.Request) bool {
		return isFull(req.Msg) && req.Msg.GetEffectiveConfig() != nil
	})
	var refusedAt, nextAt time.Time
	for _, e := range r.Events() {
		switch {
		case e.Kind == testserver.EventAnswer && refusedAt.IsZero():
			refusedAt = e.At
		case e.Kind == testserver.EventMessage && !refusedAt.IsZero() && nextAt.IsZero() && e.Req.Msg.GetAgentDisconnect() == nil:
			nextAt = e.At
		}
	}
	assert.GreaterOrEqual(t, nextAt.Sub(refusedAt), retry-100*time.Millisecond, "retry_after not honoured:\n%s", r.Log())
	if tr == WS {
		assert.Equal(t, 2, again.Conn, "the client did not reconnect")
		assertGoodbyeBeforeClose(t, r, 1)
	}
}

// checkUnavailableBackoff: without retry_info the waits grow.
func checkUnavailableBackoff(t *testing.T, tr Transport) {
	r, s := scripted(t)
	refused := 0
	s.setRule(func(req testserver.Request) (testserver.Reply, bool) {
		if isFull(req.Msg) && refused < 3 {
			refused++
			return unavailable(0), true
		}
		return testserver.Reply{}, false
	})
	startAgent(t, tr, at(r, tr), with(func(st *opampclient.Settings) { st.ReconnectSpread = 0 }))
	r.WaitFor(t, waitFor, "the fourth report", func(r *testserver.Raw) bool { return countMsgs(r, isFull) >= 4 })
	var at []time.Time
	for _, e := range r.Events() {
		if e.Kind == testserver.EventMessage && isFull(e.Req.Msg) {
			at = append(at, e.At)
		}
	}
	g := gaps(at)
	within(t, g[0], 400*time.Millisecond, 1500*time.Millisecond, "the first wait")
	within(t, g[1], 900*time.Millisecond, 2500*time.Millisecond, "the second wait")
	assert.Greater(t, g[2], g[0], "no backoff: %v", g)
}

// checkWSRedirect: a redirect of the upgrade is followed.
func checkWSRedirect(t *testing.T, tr Transport) {
	r := raw(t, testserver.RawWithUpgrade(func(req *http.Request, _ int) (int, http.Header) {
		if req.URL.Path == testserver.Path {
			return http.StatusTemporaryRedirect, http.Header{"Location": {"/moved/v1/opamp"}}
		}
		return 0, nil
	}))
	startAgent(t, tr, at(r, tr))
	settle(t, r)
	ups := events(r, testserver.EventUpgrade)
	require.NotEmpty(t, ups)
	assert.Equal(t, "/moved/v1/opamp", ups[0].Path)
}

// checkHTTPRedirect: a poll answered 307 goes to the Location with the
// same message; one answered 302 is not turned into a GET there, and the
// agent keeps polling its own server.
func checkHTTPRedirect(t *testing.T, tr Transport) {
	const moved = "/moved" + testserver.Path
	redirectWith := func(code int) testserver.RawOption {
		return testserver.RawWithResponder(func(req testserver.Request) testserver.Reply {
			if req.Path == testserver.Path {
				return testserver.Reply{Status: code, Header: http.Header{"Location": {moved}}}
			}
			return testserver.RawDefaultReply(req)
		})
	}
	at307 := func(e testserver.Event) bool { return e.Path == moved }

	r := raw(t, redirectWith(http.StatusTemporaryRedirect))
	startAgent(t, tr, at(r, tr))
	settle(t, r)
	msgs := events(r, testserver.EventMessage)
	require.GreaterOrEqual(t, len(msgs), 2)
	assert.Equal(t, testserver.Path, msgs[0].Path)
	assert.True(t, at307(msgs[1]), "the redirected poll: %s", msgs[1].Path)
	require.NotNil(t, msgs[1].Req.Msg, "the body went with it")
	assert.True(t, proto.Equal(msgs[0].Req.Msg, msgs[1].Req.Msg), "the same message")

	r302 := raw(t, redirectWith(http.StatusFound))
	startAgent(t, tr, at(r302, tr))
	r302.WaitFor(t, waitFor, "a second poll after the refused redirect", func(r *testserver.Raw) bool {
		return len(events(r, testserver.EventMessage)) >= 2
	})
	for _, e := range events(r302, testserver.EventMessage) {
		assert.Equal(t, testserver.Path, e.Path, "no GET to the Location")
	}
}
