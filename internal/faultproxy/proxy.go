// Package faultproxy is a TCP proxy for tests that injects network faults
// between the extension and a real OpAMP server: it cuts open connections
// (a restarting server, a load balancer), refuses new ones (a server that is
// down), swallows bytes (a server that stops answering), adds latency, and
// sends new connections to another backend (a restarted server that lost
// its state).
package faultproxy

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy forwards connections from its own address to a target address. All
// methods are safe for concurrent use; fault modes apply from the next byte
// read (Delay, Blackhole) or the next connection (Refuse, Retarget).
type Proxy struct {
	ln net.Listener
	wg sync.WaitGroup

	mu        sync.Mutex
	target    string
	delay     time.Duration
	blackhole bool
	refuse    bool
	closed    bool
	links     map[*link]struct{}
	cuts      int
	accepts   []time.Time
	stats     Stats
}

// Stats counts what the proxy did; see Proxy.Stats.
type Stats struct {
	// Accepted counts every connection accepted, refused ones included.
	Accepted int
	// Forwarded counts connections joined to a backend.
	Forwarded int
	// Refused counts connections closed at once because of Refuse.
	Refused int
	// Blackholed counts connections accepted during a blackhole and never
	// joined to a backend.
	Blackholed int
	// DialFailed counts connections closed because the backend refused them.
	DialFailed int
	// Cut counts connections (each side separately) closed by CutAll.
	Cut int
	// HoleCuts counts connections (each side separately) closed when a
	// blackhole ended because they had lost bytes.
	HoleCuts int
	// DroppedBytes is what blackholes swallowed, both directions.
	DroppedBytes int64
	// DelayedChunks counts chunks held back by Delay.
	DelayedChunks int64
	// Retargets counts Retarget calls that changed the backend.
	Retargets int
}

// Start listens on 127.0.0.1 and forwards to target until the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("faultproxy: listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// CutAll closes every open connection, both sides, and returns how many.
func (p *Proxy) CutAll() int {
	p.mu.Lock()
	links := p.takeLinksLocked(func(*link) bool { return true })
	p.mu.Unlock()
	n := closeLinks(links)
	p.mu.Lock()
	p.cuts += n
	p.stats.Cut += n
	p.mu.Unlock()
	return n
}

// Cuts counts the connections CutAll closed so far.
func (p *Proxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// Accepts returns when each connection was accepted, in order.
func (p *Proxy) Accepts() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.accepts...)
}

// Stats returns a snapshot of the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Delay adds d of latency to every chunk in each direction, from the next
// chunk read; order is kept. Zero removes it.
func (p *Proxy) Delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = max(d, 0)
}

// Blackhole(true) makes the proxy swallow every byte, both directions, on
// open and new connections, while keeping them open: a server that stops
// answering. Blackhole(false) forwards again and cuts the connections that
// lost bytes, as a peer that timed the flow out would reset it; a stream
// with a hole in it cannot go on.
func (p *Proxy) Blackhole(on bool) {
	p.mu.Lock()
	p.blackhole = on
	var holed []*link
	if !on {
		holed = p.takeLinksLocked((*link).isHoled)
	}
	p.mu.Unlock()
	n := closeLinks(holed)
	p.mu.Lock()
	p.stats.HoleCuts += n
	p.mu.Unlock()
}

// Refuse(true) closes every new connection at once, as a host whose server
// is down answers with a reset; open connections are left alone.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = on
}

// Retarget sends new connections to addr and returns the previous target;
// open connections stay on theirs. With a fresh server behind addr, and
// CutAll, this is a server restart that lost all state.
func (p *Proxy) Retarget(addr string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.target
	if addr != prev {
		p.target = addr
		p.stats.Retargets++
	}
	return prev
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepts = append(p.accepts, time.Now())
		p.stats.Accepted++
		refuse, hole, target := p.refuse, p.blackhole, p.target
		switch {
		case refuse:
			p.stats.Refused++
		case hole:
			p.stats.Blackholed++
		}
		p.mu.Unlock()
		switch {
		case refuse:
			_ = in.Close()
		case hole:
			p.start(newLink(in, nil, true))
		default:
			// Dial off the accept loop: a slow backend must not hold
			// other clients.
			p.wg.Add(1)
			go p.dial(in, target)
		}
	}
}

func (p *Proxy) dial(in net.Conn, target string) {
	defer p.wg.Done()
	out, err := net.Dial("tcp", target)
	if err != nil {
		_ = in.Close()
		p.mu.Lock()
		p.stats.DialFailed++
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	p.stats.Forwarded++
	p.mu.Unlock()
	p.start(newLink(in, out, false))
}

// start registers l and runs its pipes, or closes it when the proxy is
// already closed.
func (p *Proxy) start(l *link) {
	p.mu.Lock()
	if p.closed || (l.out == nil && !p.blackhole) {
		// Closed, or the blackhole that took this connection ended
		// before it was registered: cut it as Blackhole(false) would.
		lateHole := !p.closed
		p.mu.Unlock()
		n := l.close()
		if lateHole {
			p.mu.Lock()
			p.stats.HoleCuts += n
			p.mu.Unlock()
		}
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()
	if l.out == nil {
		p.wg.Add(1)
		go p.discard(l)
		return
	}
	p.pipe(l, l.out, l.in)
	p.pipe(l, l.in, l.out)
}

// takeLinksLocked removes and returns the links match selects. Callers hold p.mu.
func (p *Proxy) takeLinksLocked(match func(*link) bool) []*link {
	var out []*link
	for l := range p.links {
		if match(l) {
			delete(p.links, l)
			out = append(out, l)
		}
	}
	return out
}

func (p *Proxy) forget(l *link) {
	p.mu.Lock()
	delete(p.links, l)
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.CutAll()
	p.wg.Wait()
}
