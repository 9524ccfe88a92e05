package recorder

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// countingListener counts every accepted TCP connection (one per WebSocket
// connection attempt) and, while the server is "away", closes each new
// connection at once, like a load balancer with no backend: attempts keep
// arriving and stay countable, which a closed port would hide.
type countingListener struct {
	net.Listener
	clock func() time.Time

	away atomic.Bool

	mu       sync.Mutex
	attempts []int64 // UnixNano of every accepted connection
	live     map[*countingConn]struct{}
}

var _ net.Listener = (*countingListener)(nil)

func newCountingListener(l net.Listener, clock func() time.Time) *countingListener {
	return &countingListener{Listener: l, clock: clock, live: map[*countingConn]struct{}{}}
}

// Accept returns the next connection accepted while the server is present.
func (l *countingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.attempts = append(l.attempts, l.clock().UnixNano())
		l.mu.Unlock()
		if l.away.Load() {
			_ = c.Close()
			continue
		}
		cc := &countingConn{Conn: c, owner: l}
		l.mu.Lock()
		l.live[cc] = struct{}{}
		l.mu.Unlock()
		return cc, nil
	}
}

// goAway drops every open connection and refuses new ones until comeBack.
func (l *countingListener) goAway() {
	l.away.Store(true)
	l.mu.Lock()
	conns := make([]*countingConn, 0, len(l.live))
	for c := range l.live {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

func (l *countingListener) comeBack() { l.away.Store(false) }

// attemptTimes returns a copy of the attempt timestamps.
func (l *countingListener) attemptTimes() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.attempts...)
}

func (l *countingListener) forget(c *countingConn) {
	l.mu.Lock()
	delete(l.live, c)
	l.mu.Unlock()
}

// countingConn counts the bytes an agent puts on the wire: the HTTP upgrade
// request, WebSocket framing and payload.
type countingConn struct {
	net.Conn
	owner     *countingListener
	read      atomic.Int64
	closeOnce sync.Once
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.owner.forget(c) })
	return err
}
