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
}

func newKeepAlive(lastRead *atomic.Int64, idle, pongWait time.Duration) *keepAlive {
	return &keepAlive{timer: time.NewTimer(idle), lastRead: lastRead, idle: idle, pongWait: pongWait}
}

func (k *keepAlive) check(conn *websocket.Conn) error {
	last := time.Unix(0, k.lastRead.Load())
	now := time.Now()
	switch {
	case !k.pingAt.IsZero() && last.Before(k.pingAt):
		return errNoPong
	case now.Sub(last) >= k.idle:
		if err := conn.WriteControl(websocket.PingMessage, nil, now.Add(writeTimeout)); err != nil {
			return err
		}
		k.pingAt = now
		k.timer.Reset(k.pongWait)
	default:
		k.pingAt = time.Time{}
		k.timer.Reset(k.idle - now.Sub(last))
	}
	return nil
}
