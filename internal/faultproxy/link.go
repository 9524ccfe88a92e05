package faultproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the largest read forwarded as one chunk.
const chunkSize = 32 << 10

// queueLen bounds the chunks in flight per direction; a full queue stops
// reading, so a slow side pushes back on the other as TCP would.
const queueLen = 64

// link is one client connection and, unless it was blackholed from the
// start, its backend connection.
type link struct {
	in, out net.Conn // out is nil for a connection never forwarded
	// holed is set once a blackhole swallowed bytes of this link.
	holed atomic.Bool
	// done is closed with the connections; it ends delay waits.
	done     chan struct{}
	doneOnce sync.Once
}

func newLink(in, out net.Conn, holed bool) *link {
	l := &link{in: in, out: out, done: make(chan struct{})}
	l.holed.Store(holed)
	return l
}

func (l *link) isHoled() bool { return l.holed.Load() }

// close closes both sides and reports how many connections it closed: 0
// when the link was already closed.
func (l *link) close() int {
	n := 0
	l.doneOnce.Do(func() {
		close(l.done)
		_ = l.in.Close()
		n = 1
		if l.out != nil {
			_ = l.out.Close()
			n = 2
		}
	})
	return n
}

func closeLinks(links []*link) int {
	n := 0
	for _, l := range links {
		n += l.close()
	}
	return n
}

// chunk is bytes read from one side, due on the other side at due.
type chunk struct {
	data []byte
	due  time.Time
}

// pipe forwards src to dst through a queue: a reader applies the fault
// modes as bytes arrive, a writer holds each chunk until it is due. When
// either side ends, the link is closed.
func (p *Proxy) pipe(l *link, dst, src net.Conn) {
	q := make(chan chunk, queueLen)
	p.wg.Add(2)
	go p.read(l, src, q)
	go p.write(l, dst, q)
}

func (p *Proxy) read(l *link, src net.Conn, q chan<- chunk) {
	defer p.wg.Done()
	defer close(q)
	var last time.Time
	for {
		buf := make([]byte, chunkSize)
		n, err := src.Read(buf)
		if n > 0 {
			now := time.Now()
			p.mu.Lock()
			hole, delay := p.blackhole, p.delay
			switch {
			case hole:
				// Under p.mu, so that Blackhole(false) sees the hole.
				l.holed.Store(true)
				p.stats.DroppedBytes += int64(n)
			case delay > 0:
				p.stats.DelayedChunks++
			}
			p.mu.Unlock()
			if !hole {
				// Never earlier than the chunk before: order is kept
				// when the delay shrinks.
				due := now.Add(delay)
				if due.Before(last) {
					due = last
				}
				last = due
				select {
				case q <- chunk{data: buf[:n], due: due}:
				case <-l.done:
					return
				}
			}
		}
		if err != nil {
			return // a cut, a reset or EOF alike
		}
	}
}

func (p *Proxy) write(l *link, dst net.Conn, q <-chan chunk) {
	defer p.wg.Done()
	defer p.forget(l)
	defer l.close()
	for c := range q {
		if wait := time.Until(c.due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return
			}
		}
		if _, err := dst.Write(c.data); err != nil {
			return
		}
	}
}

// discard reads and drops everything a blackholed connection sends until
// it is cut or closed.
func (p *Proxy) discard(l *link) {
	defer p.wg.Done()
	defer p.forget(l)
	defer l.close()
	_, _ = io.Copy(droppedCounter{p}, l.in)
}

// droppedCounter counts the bytes written to it as dropped.
type droppedCounter struct{ p *Proxy }

func (d droppedCounter) Write(b []byte) (int, error) {
	d.p.mu.Lock()
	d.p.stats.DroppedBytes += int64(len(b))
	d.p.mu.Unlock()
	return len(b), nil
}
