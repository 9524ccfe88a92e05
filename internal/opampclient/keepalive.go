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

type keepAlive struct {
	timer          *time.Timer
	lastRead       *atomic.Int64
	idle, pongWait time.Duration
	pingAt         time.Time // zero when no ping is outstanding
	// awaiting is when the oldest message the server has not answered
	// yet began to be written (zero when none is known): its answer is
	// due within pongWait.
	awaiting time.Time
}

func newKeepAlive(lastRead *atomic.Int64, idle, pongWait time.Duration) *keepAlive {
	return &keepAlive{timer: time.NewTimer(idle), lastRead: lastRead, idle: idle, pongWait: pongWait}
}

// wrote notes a message written on the connection, its write begun at at
// (so that its answer always comes after).
func (k *keepAlive) wrote(at time.Time) {
	if k.awaiting.IsZero() {
		k.awaiting = at
	}
}

// check runs when the timer fires; heartbeatDue says a heartbeat goes out
// right after.
//
// Servers answer the agent's messages (opamp-go's answers every one), so
// an answer to a message is as good a sign of life as a pong, and a
// heartbeat is as good a probe as a ping: with heartbeats on (every 30 s,
// like the idle time) both timers come due together, and pinging then
// would cost a frame each way for nothing. A ping goes only when nothing
// else shows the server alive: the connection idle, or a message
// unanswered for pongWait (so a server that answers no message is pinged
// then, and one that answers nothing is still noticed, pongWait later at
// most).
func (k *keepAlive) check(conn *websocket.Conn, heartbeatDue bool) error {
	last := time.Unix(0, k.lastRead.Load())
	now := time.Now()
	if !k.awaiting.IsZero() && last.After(k.awaiting) {
		k.awaiting = time.Time{} // answered
	}
	switch {
	case !k.pingAt.IsZero() && last.Before(k.pingAt):
		return errNoPong
	case !k.awaiting.IsZero() && now.Sub(k.awaiting) >= k.pongWait:
		k.awaiting = time.Time{} // the ping asks instead
	case !k.awaiting.IsZero():
		k.pingAt = time.Time{}
		k.timer.Reset(k.pongWait - now.Sub(k.awaiting))
		return nil
	case heartbeatDue:
		k.pingAt = time.Time{}
		k.timer.Reset(k.pongWait) // the heartbeat's answer is due by then
		return nil
	case now.Sub(last) < k.idle:
		k.pingAt = time.Time{}
		k.timer.Reset(k.idle - now.Sub(last))
		return nil
	}
	if err := conn.WriteControl(websocket.PingMessage, nil, now.Add(writeTimeout)); err != nil {
		return err
	}
	k.pingAt = now
	k.timer.Reset(k.pongWait)
	return nil
}
