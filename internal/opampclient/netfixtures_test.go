package opampclient

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// countingConn counts what a fixture reads from and writes to the client.
type countingConn struct {
	net.Conn
	read, written *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// fixture is a listener on 127.0.0.1 whose connections the test can cut,
// and which it closes and waits for when the test ends.
type fixture struct {
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// fromClient and toClient count the bytes on the client side.
	fromClient, toClient atomic.Int64
	accepted             atomic.Int64
}

func newFixture(t *testing.T, serve func(f *fixture, client net.Conn)) *fixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fixture{ln: ln, conns: map[net.Conn]struct{}{}}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.accepted.Add(1)
			cc := countingConn{Conn: c, read: &f.fromClient, written: &f.toClient}
			if !f.track(cc) {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer f.untrack(cc)
				serve(f, cc)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		f.dropAll()
		f.wg.Wait()
	})
	return f
}

func (f *fixture) addr() string { return f.ln.Addr().String() }

// track registers c for dropAll; false (and c closed) once closing.
func (f *fixture) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		_ = c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *fixture) untrack(c net.Conn) {
	_ = c.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
}

// dropAll cuts every open connection, as a crashed server or a load
// balancer would.
func (f *fixture) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
}

// pipe copies both ways until either side ends, then closes both.
func pipe(client io.ReadWriter, clientConn, upstream net.Conn) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, client); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, upstream); done <- struct{}{} }()
	<-done
	_ = clientConn.Close()
	_ = upstream.Close()
	<-done
}

// startForwarder forwards every connection to target, counting the bytes.
func startForwarder(t *testing.T, target string) *fixture {
	return newFixture(t, func(_ *fixture, client net.Conn) {
		up, err := net.Dial("tcp", target)
		if err != nil {
			return
		}
		pipe(client, client, up)
	})
}

// startSilent accepts connections and reads them without ever answering:
// a server or proxy that hangs.
func startSilent(t *testing.T) *fixture {
	return newFixture(t, func(_ *fixture, client net.Conn) {
		_, _ = io.Copy(io.Discard, client)
	})
}

// connectProxy is an HTTP CONNECT proxy that records each CONNECT request's
// headers.
type connectProxy struct {
	*fixture
	mu      sync.Mutex
	headers []http.Header
}

func startConnectProxy(t *testing.T) *connectProxy {
	p := &connectProxy{}
	p.fixture = newFixture(t, func(_ *fixture, client net.Conn) {
		br := bufio.NewReader(client)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		p.mu.Lock()
		p.headers = append(p.headers, req.Header.Clone())
		p.mu.Unlock()
		if req.Method != http.MethodConnect {
			_, _ = io.WriteString(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
			return
		}
		up, err := net.Dial("tcp", req.Host)
		if err != nil {
			_, _ = io.WriteString(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
			return
		}
		if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
			_ = up.Close()
			return
		}
		// Read the tunnel through br: it may hold bytes already.
		pipe(struct {
			io.Reader
			io.Writer
		}{br, client}, client, up)
	})
	return p
}

func (p *connectProxy) connectHeaders() []http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]http.Header(nil), p.headers...)
}
