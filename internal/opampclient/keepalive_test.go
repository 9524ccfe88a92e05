package opampclient

import (
	"sync/atomic"
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

// TestKeepAliveDue: when the connection's one timer is set for, with the
// defaults (30 s idle and heartbeat, 15 s pong wait) and others.
func TestKeepAliveDue(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name                     string
		lastRead, awaiting, ping float64 // seconds after t0; -1: none
		heartbeat                float64 // -1: heartbeats off
		idle                     time.Duration
		want                     float64
	}{
		{"heartbeat answered: the next heartbeat, no separate idle look", 0.001, -1, -1, 30, 30 * time.Second, 30},
		{"heartbeat not answered yet: still the next heartbeat", -30, 0, -1, 30, 30 * time.Second, 30},
		{"no heartbeats: the idle time", 5, -1, -1, -1, 30 * time.Second, 35},
		{"no heartbeats, a message awaiting its answer", 5, 10, -1, -1, 30 * time.Second, 25},
		{"a message awaiting, the server silent long before: its answer's deadline, not a ping at once", -100, 10, -1, -1, 30 * time.Second, 25},
		{"heartbeat far off (5 min): the idle ping comes first", 0, -1, -1, 300, 30 * time.Second, 30},
		{"ping outstanding: its deadline, before the heartbeat", 0, -1, 40, 60, 30 * time.Second, 55},
		{"ping outstanding, heartbeat sooner: the heartbeat", 0, -1, 40, 45, 30 * time.Second, 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lastRead atomic.Int64
			lastRead.Store(at(tt.lastRead).UnixNano())
			k := newKeepAlive(&lastRead, tt.idle, 15*time.Second)
			if tt.awaiting >= 0 {
				k.wrote(at(tt.awaiting))
			}
			if tt.ping >= 0 {
				k.pingAt = at(tt.ping)
			}
			var hb time.Time
			if tt.heartbeat >= 0 {
				hb = at(tt.heartbeat)
			}
			assert.Equal(t, at(tt.want), k.due(hb))
		})
	}
}
