package opampclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestKeepAliveWithHeartbeats: with heartbeats as often as the keep-alive
// idle time (both 30 s by default), the heartbeats and their answers keep
// the connection known alive: no ping goes to a server that answers them.
// A server that answers pings but no message is still pinged, and kept;
// one that answers nothing is dropped.
func TestKeepAliveWithHeartbeats(t *testing.T) {
	t.Parallel()
	// wait is short enough to see pings within the test; where every
	// heartbeat is answered it is ten times that, far longer than an
	// answer takes even on a loaded machine (a late one rightly draws a
	// ping).
	const every, wait = 100 * time.Millisecond, 300 * time.Millisecond
	count := func(srv *testserver.Raw) (msgs, pings int) {
		for _, e := range srv.Events() {
			switch e.Kind {
			case testserver.EventMessage:
				msgs++
			case testserver.EventPing:
				pings++
			}
		}
		return msgs, pings
	}
	start := func(t *testing.T, srv *testserver.Raw, wait time.Duration) *harness {
		h := newHarness(srv.WSURL())
		h.KeepAliveIdle, h.PongWait, h.Heartbeat = every, wait, every
		h.start(t)
		return h
	}
	t.Run("answered heartbeats, no pings", func(t *testing.T) {
		t.Parallel()
		srv := testserver.StartRaw(t)
		h := start(t, srv, 10*wait)
		time.Sleep(30 * every)
		msgs, pings := count(srv)
		assert.GreaterOrEqual(t, msgs, 15, "heartbeats")
		assert.Zero(t, pings, "a ping went although every heartbeat was answered")
		assert.Equal(t, 1, h.obs.stats().Dialed)
	})
	t.Run("unanswered heartbeats, pings answered", func(t *testing.T) {
		t.Parallel()
		srv := testserver.StartRaw(t, testserver.RawWithResponder(func(testserver.Request) testserver.Reply {
			return testserver.Reply{Silent: true}
		}))
		h := start(t, srv, wait)
		time.Sleep(30 * every)
		msgs, pings := count(srv)
		assert.GreaterOrEqual(t, msgs, 10, "heartbeats")
		assert.GreaterOrEqual(t, pings, 3, "a server answering no message must be pinged")
		assert.Equal(t, 1, h.obs.stats().Dialed, "a server answering pings is alive")
		assert.Zero(t, h.obs.stats().Disconnected)
	})
	t.Run("nothing answered", func(t *testing.T) {
		t.Parallel()
		srv := testserver.StartRaw(t, testserver.RawIgnorePings(), testserver.RawWithResponder(func(testserver.Request) testserver.Reply {
			return testserver.Reply{Silent: true}
		}))
		h := start(t, srv, wait)
		// Noticed within the idle time and two waits: the answer to a
		// heartbeat, then to the ping.
		require.Eventually(t, func() bool { return h.obs.stats().Dialed >= 2 }, 5*time.Second, 10*time.Millisecond)
		assert.NotEmpty(t, h.logs.FilterMessageSnippet("Lost the connection").All())
	})
}
