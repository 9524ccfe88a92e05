// Package testserver runs a real OpAMP server (opamp-go's server package) for
// tests. It accepts WebSocket and plain-HTTP polling agents on one endpoint,
// records what every agent reports, and lets a test push messages to agents.
package testserver

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server"
	"github.com/open-telemetry/opamp-go/server/types"
)

// Path is the URL path the server listens on.
const Path = "/v1/opamp"

// stopTimeout bounds how long cleanup waits for the listener and the open
// connections to go away.
const stopTimeout = 5 * time.Second

// Responder builds the reply to one message of an agent. A nil reply sends
// nothing over WebSocket and an empty message over HTTP. It must not modify msg.
type Responder func(agentUID string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent

// ConnectingFunc decides whether to accept a connection attempt (a WebSocket
// upgrade or one HTTP poll); when it refuses, httpStatus is the response code.
type ConnectingFunc func(r *http.Request) (accept bool, httpStatus int)

// Option configures a Server.
type Option func(*options)

type options struct {
	tlsConfig    *tls.Config
	onConnecting ConnectingFunc
	responder    Responder
}

// WithTLS serves wss/https with cfg, which must hold the server certificate.
// Unless cfg sets NextProtos the server offers HTTP/1.1 only: WebSocket needs
// it, and HTTP/2's graceful close would add a second to every shutdown.
func WithTLS(cfg *tls.Config) Option {
	return func(o *options) {
		o.tlsConfig = cfg.Clone()
		if len(o.tlsConfig.NextProtos) == 0 {
			o.tlsConfig.NextProtos = []string{"http/1.1"}
		}
	}
}

// WithOnConnecting lets a test inspect each request (auth headers) and refuse it.
func WithOnConnecting(f ConnectingFunc) Option {
	return func(o *options) { o.onConnecting = f }
}

// WithResponder replaces the default reply (see Server.DefaultReply).
func WithResponder(r Responder) Option {
	return func(o *options) { o.responder = r }
}

// opampServer is the part of opamp-go's server this package uses.
type opampServer interface {
	Start(settings server.StartSettings) error
	Stop(ctx context.Context) error
	Addr() net.Addr
}

// Server is an OpAMP server bound to 127.0.0.1 on a free port. All methods
// are safe for concurrent use.
type Server struct {
	srv          opampServer
	addr         string
	tls          bool
	onConnecting ConnectingFunc
	responder    Responder

	mu       sync.Mutex
	agents   map[string]*agentRecord
	open     map[*connInfo]struct{}
	headers  []http.Header
	stopping bool
}

// Start starts a server and registers its shutdown with t.Cleanup. Shutdown
// closes every WebSocket connection and waits for the server's goroutines.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{
		tls:          o.tlsConfig != nil,
		onConnecting: o.onConnecting,
		responder:    o.responder,
		agents:       map[string]*agentRecord{},
		open:         map[*connInfo]struct{}{},
	}
	if s.responder == nil {
		s.responder = s.DefaultReply
	}
	var srv opampServer = server.New(nil)
	err := srv.Start(server.StartSettings{
		Settings:       server.Settings{Callbacks: types.Callbacks{OnConnecting: s.handleConnecting}},
		ListenEndpoint: "127.0.0.1:0",
		ListenPath:     Path,
		TLSConfig:      o.tlsConfig,
	})
	if err != nil {
		t.Fatalf("testserver: start: %v", err)
	}
	s.srv = srv
	s.addr = srv.Addr().String()
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("testserver: stop: %v", err)
		}
	})
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// WSURL is the WebSocket endpoint (wss:// with TLS).
func (s *Server) WSURL() string { return s.url("ws") }

// HTTPURL is the plain-HTTP endpoint (https:// with TLS).
func (s *Server) HTTPURL() string { return s.url("http") }

func (s *Server) url(scheme string) string {
	if s.tls {
		scheme += "s"
	}
	return scheme + "://" + s.addr + Path
}

// Connections counts the connections open now: WebSocket connections and
// HTTP polls being served.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// RequestHeaders returns the headers of every connection attempt, refused
// ones included, in arrival order.
func (s *Server) RequestHeaders() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]http.Header, len(s.headers))
	for i, h := range s.headers {
		out[i] = h.Clone()
	}
	return out
}

// AgentUIDs lists the instance uids of all agents seen, sorted.
func (s *Server) AgentUIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	uids := make([]string, 0, len(s.agents))
	for uid := range s.agents {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	return uids
}

// Agent returns a snapshot of one agent's state, or nil if it never sent a
// message. uid is matched as a UUID, so case does not matter.
func (s *Server) Agent(uid string) *AgentState {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.agents[normalizeUID(uid)]
	if !ok {
		return nil
	}
	return rec.snapshot()
}

// Agents returns snapshots of all agents, keyed by instance uid.
func (s *Server) Agents() map[string]*AgentState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*AgentState, len(s.agents))
	for uid, rec := range s.agents {
		out[uid] = rec.snapshot()
	}
	return out
}

// stop closes the listener, then every WebSocket connection (opamp-go's Stop
// leaves hijacked connections open), and waits until all have been closed.
func (s *Server) stop() error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err := s.srv.Stop(ctx)

	s.mu.Lock()
	var conns []types.Connection
	for ci := range s.open {
		if ci.ws && ci.conn != nil {
			conns = append(conns, ci.conn)
		}
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Disconnect()
	}

	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.Connections() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return err
}
