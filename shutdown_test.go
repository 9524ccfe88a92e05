package opampextension

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensionauth"
)

// stopBound is the client's stop bound when Shutdown's context has no
// deadline (opampclient's stopGrace); stopSlack is what a busy two-core
// machine under -race may add to it.
const (
	stopBound = 3 * time.Second
	stopSlack = 1500 * time.Millisecond
)

// timedShutdown shuts agent down with ctx and returns how long it took.
func timedShutdown(t *testing.T, agent *opampAgent, ctx context.Context) time.Duration {
	t.Helper()
	start := time.Now()
	_ = agent.Shutdown(ctx) // a cut goodbye may report ctx's error
	took := time.Since(start)
	t.Logf("Shutdown took %s", took.Round(10*time.Millisecond))
	return took
}

// deafWS upgrades every connection to WebSocket and then never reads it,
// as a hung server behind a proxy would: a large write fills the socket
// buffers and blocks.
type deafWS struct {
	url      string
	upgrades atomic.Int64
}

func startDeafWS(t *testing.T) *deafWS {
	d := &deafWS{}
	quit := make(chan struct{})
	var handlers sync.WaitGroup
	upgrader := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		d.upgrades.Add(1)
		<-quit
	}))
	t.Cleanup(func() {
		close(quit)
		hs.Close()
		handlers.Wait()
	})
	d.url = "ws://" + hs.Listener.Addr().String() + "/v1/opamp"
	return d
}

// blackHole accepts TCP connections and never reads or answers them.
type blackHole struct {
	ln       net.Listener
	accepted atomic.Int64
}

func startBlackHole(t *testing.T) *blackHole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b := &blackHole{ln: ln}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return b
}

func (b *blackHole) url(scheme string) string {
	return scheme + "://" + b.ln.Addr().String() + "/v1/opamp"
}

// hangingAuth is an authenticator whose requests hang, as one stuck on a
// token endpoint would: until their context ends, or (ignoresContext, an
// authenticator without a timeout) until the test ends, which lets them go
// so that nothing leaks past it.
type hangingAuth struct {
	component.StartFunc
	component.ShutdownFunc

	ignoresContext bool
	release        chan struct{}
	calls          atomic.Int64
}

var _ extensionauth.HTTPClient = (*hangingAuth)(nil)

func newHangingAuth(t *testing.T, ignoresContext bool) *hangingAuth {
	a := &hangingAuth{ignoresContext: ignoresContext, release: make(chan struct{})}
	t.Cleanup(func() { close(a.release) })
	return a
}

func (a *hangingAuth) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		a.calls.Add(1)
		if a.ignoresContext {
			<-a.release
			return base.RoundTrip(r)
		}
		select {
		case <-a.release:
			return base.RoundTrip(r)
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}), nil
}

// TestShutdownDeafWSLargeMessage: the first message (a 12 MB effective
// config) is larger than the socket buffers of a server that upgraded and
// never reads. Shutdown without a deadline (what core passes) ends within
// the stop bound, not when the write times out.
func TestShutdownDeafWSLargeMessage(t *testing.T) {
	srv := startDeafWS(t)
	agent := newAgent(t, wsConfig(srv.url))
	big := strings.Repeat("x", 12<<20)
	require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, map[string]any{
		"service": map[string]any{"telemetry": map[string]any{"resource": map[string]any{"big": big}}},
	})))
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	require.Eventually(t, func() bool { return srv.upgrades.Load() == 1 }, waitTime, 10*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // the write fills the buffers and blocks
	assert.Less(t, timedShutdown(t, agent, context.Background()), stopBound+stopSlack)
}

// TestShutdownHangingAuth: an authenticator that hangs, whether or not it
// heeds its context, must not hold Shutdown past its deadline, over either
// transport (HTTP computes headers for the poll and again for the goodbye).
func TestShutdownHangingAuth(t *testing.T) {
	const deadline = 2 * time.Second
	for _, tr := range []string{"ws", "http"} {
		for _, ignores := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ignores_context=%t", tr, ignores), func(t *testing.T) {
				srv := startBlackHole(t)
				authID := component.MustNewIDWithName("hangingauth", tr)
				cfg := wsConfig(srv.url("ws"))
				if tr == "http" {
					cfg = httpConfig(srv.url("http"))
				}
				cfg.serverSettings().Auth = &authID
				auth := newHangingAuth(t, ignores)
				host := newTestHost()
				host.exts[authID] = auth
				agent := newAgent(t, cfg)
				require.NoError(t, agent.Start(context.Background(), host))
				require.Eventually(t, func() bool { return auth.calls.Load() > 0 }, waitTime, 10*time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				assert.Less(t, timedShutdown(t, agent, ctx), deadline+stopSlack)
			})
		}
	}
}

// TestShutdownWithSilentServer: a server that accepts TCP but never
// answers the WebSocket handshake must not hold Shutdown past its
// deadline.
func TestShutdownWithSilentServer(t *testing.T) {
	srv := startBlackHole(t)
	agent := newAgent(t, wsConfig(srv.url("ws")))
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	require.Eventually(t, func() bool { return srv.accepted.Load() > 0 }, waitTime, 10*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	assert.Less(t, timedShutdown(t, agent, ctx), time.Second+stopSlack)
}

// TestShutdownHTTPNeverReached: over HTTP, when no poll ever succeeded
// the server does not know the agent, so there is nobody to say goodbye
// to: Shutdown does not wait on a black-holed server at all.
func TestShutdownHTTPNeverReached(t *testing.T) {
	srv := startBlackHole(t)
	agent := newAgent(t, httpConfig(srv.url("http")))
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	require.Eventually(t, func() bool { return srv.accepted.Load() > 0 }, waitTime, 10*time.Millisecond)
	assert.Less(t, timedShutdown(t, agent, context.Background()), stopSlack)
}
