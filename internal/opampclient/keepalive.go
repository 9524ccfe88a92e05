package opampclient

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Keep-alive: after keepAliveIdle without a frame from the server, a ping;
// without any frame within pongWait of it, the connection is dead. Pings
// keep idle connections open through load balancers and notice a server
// that vanished without closing the connection, at 6 bytes a ping.
const (
	keepAliveIdle = 30 * time.Second
	pongWait      = 15 * time.Second
)

// errNoPong: the server answered nothing, not even a ping.
var errNoPong = errors.New("the OpAMP server did not answer a ping")

// keepAlive decides, for the connection's one timer, when the connection
// next needs looking at and whether a ping goes then. Its methods run on
// the writing goroutine; lastRead is the reader's.
//
// Servers answer the agent's messages (opamp-go's answers every one), so
// an answer to a message is as good a sign of life as a pong, and a
// heartbeat is as good a probe as a ping. A ping goes only when nothing
// else shows the server alive: the connection idle with no heartbeat due,
// or a message unanswered for pongWait (so a server that answers no
// message is pinged, and one that answers nothing is still noticed).
type keepAlive struct {
	lastRead       *atomic.Int64
	idle, pongWait time.Duration
	pingAt         time.Time // zero when no ping is outstanding
	// awaiting is when the oldest message the server has not answered
	// yet began to be written (zero when none is known): its answer is
	// due within pongWait.
	awaiting time.Time
}

func newKeepAlive(lastRead *atomic.Int64, idle, pongWait time.Duration) *keepAlive {
	return &keepAlive{lastRead: lastRead, idle: idle, pongWait: pongWait}
}

// wrote notes a message written on the connection, its write begun at at
// (so that its answer always comes after).
func (k *keepAlive) wrote(at time.Time) {
	if k.awaiting.IsZero() {
		k.awaiting = at
	}
}

func (k *keepAlive) last() time.Time { return time.Unix(0, k.lastRead.Load()) }

// due is when the connection next needs looking at, given when the next
// heartbeat is due (zero: none). A look that falls due no more than
// pongWait before the heartbeat waits for it, so that one wake of the
// writer serves both: with heartbeats every 30 s (the default, like the
// idle time) an idle connection wakes it once a heartbeat, and a server
// that stopped answering is noticed pongWait later at most.
func (k *keepAlive) due(heartbeat time.Time) time.Time {
	if !k.pingAt.IsZero() {
		return earliest(k.pingAt.Add(k.pongWait), heartbeat) // the pong's deadline does not wait
	}
	last := k.last()
	at := last.Add(k.idle)
	if !k.awaiting.IsZero() && !last.After(k.awaiting) {
		// A message awaiting its answer is the probe: no ping before its
		// answer is late, however long the server was silent before it.
		at = k.awaiting.Add(k.pongWait)
	}
	if !heartbeat.IsZero() && !heartbeat.After(at.Add(k.pongWait)) {
		return heartbeat
	}
	return earliest(at, heartbeat)
}

// check runs when the connection's timer fires at now; heartbeatDue says
// a heartbeat goes out right after. It pings when nothing else shows the
// server alive, and fails when a ping went unanswered for pongWait.
func (k *keepAlive) check(conn *websocket.Conn, now time.Time, heartbeatDue bool) error {
	last := k.last()
	if !k.awaiting.IsZero() && last.After(k.awaiting) {
		k.awaiting = time.Time{} // answered
	}
	switch {
	case k.pingAt.IsZero():
	case last.After(k.pingAt):
		k.pingAt = time.Time{} // answered
	case now.Sub(k.pingAt) >= k.pongWait:
		return errNoPong
	default:
		return nil // the pong may still come
	}
	switch {
	case !k.awaiting.IsZero() && now.Sub(k.awaiting) >= k.pongWait:
		k.awaiting = time.Time{} // the ping asks instead
	case !k.awaiting.IsZero(), heartbeatDue, now.Sub(last) < k.idle:
		return nil // an answer is on its way, or the heartbeat probes
	}
	if err := conn.WriteControl(websocket.PingMessage, nil, now.Add(writeTimeout)); err != nil {
		return err
	}
	clearWriteDeadline(conn)
	k.pingAt = now
	return nil
}

// clearWriteDeadline lifts the deadline a write set on the socket, so that
// its runtime timer does not fire (and wake a thread) long after the write
// ended. A failure is the next write's to report.
func clearWriteDeadline(conn *websocket.Conn) { _ = conn.NetConn().SetWriteDeadline(time.Time{}) }

// earliest is the earlier of a and b, where a zero b (no heartbeat) is
// none.
func earliest(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
