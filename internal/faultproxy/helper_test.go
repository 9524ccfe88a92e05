package faultproxy

import (
	"bufio"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// backend answers each line with "<tag>:<line>" on every connection, so a
// test can tell which backend a connection reached.
type backend struct {
	ln  net.Listener
	tag string
	wg  sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

func startBackend(t *testing.T, tag string) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &backend{ln: ln, tag: tag}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(b.stop)
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

func (b *backend) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer func() { _ = c.Close() }()
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if _, err := c.Write([]byte(b.tag + ":" + line)); err != nil {
					return
				}
			}
		}()
	}
}

func (b *backend) stop() {
	_ = b.ln.Close()
	b.mu.Lock()
	for _, c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// client is one connection through the proxy.
type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, p *Proxy) *client {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

// ask sends one line and waits up to timeout for the answer.
func (c *client) ask(msg string, timeout time.Duration) (string, error) {
	if _, err := c.c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	return c.readLine(timeout)
}

func (c *client) readLine(timeout time.Duration) (string, error) {
	if err := c.c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	line, err := c.r.ReadString('\n')
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	return line, err
}

// isTimeout reports whether err is a deadline, not the connection ending.
func isTimeout(err error) bool {
	ne, ok := err.(net.Error) //nolint:errorlint // net.Conn returns it unwrapped
	return ok && ne.Timeout()
}
