// Package devserver is a small OpAMP server for trying the distro locally:
// it accepts agents over WebSocket and plain HTTP on one endpoint (on one
// or more listeners), prints what they report, and serves a status page
// and JSON API from which a remote config, or new connection settings,
// can be sent to an agent that accepts them.
package devserver // import "github.com/opampext/opampextension/cmd/opampdev/internal/devserver"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opamp-go/server"
	"github.com/open-telemetry/opamp-go/server/types"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
)

// Config is the dev server's configuration; zero fields take the defaults
// noted on each.
type Config struct {
	// OpAMPAddrs are the OpAMP listen addresses, all serving the same
	// agents (so an agent can be moved from one to another by a
	// connection settings offer); default 0.0.0.0:4320.
	OpAMPAddrs []string
	OpAMPPath  string           // OpAMP URL path; default /v1/opamp
	UIAddr     string           // status page listen address; default 127.0.0.1:4321
	StaleAfter time.Duration    // HTTP agents silent this long are offline; default 90s (3 default polls)
	Out        io.Writer        // where reports are printed; default io.Discard
	Now        func() time.Time // clock, for tests; default time.Now
}

func (c *Config) setDefaults() {
	if len(c.OpAMPAddrs) == 0 {
		c.OpAMPAddrs = []string{"0.0.0.0:4320"}
	}
	if c.OpAMPPath == "" {
		c.OpAMPPath = "/v1/opamp"
	}
	if c.UIAddr == "" {
		c.UIAddr = "127.0.0.1:4321"
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = 90 * time.Second
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Server runs the OpAMP endpoint and the status page.
type Server struct {
	cfg   Config
	store *agents.Store
	out   *printer

	opampSrv, uiSrv *http.Server
	opampLns        []net.Listener
	uiLn            net.Listener
	nextID          atomic.Uint64

	mu      sync.Mutex
	started bool
	closing bool
	conns   map[uint64]types.Connection // open WebSocket connections
	connWG  sync.WaitGroup              // one per entry ever added to conns
	stop    chan struct{}               // closed by Shutdown; ends the sweeper
	bg      sync.WaitGroup              // serve loops and the sweeper
}

// New returns a server that is not yet listening.
func New(cfg Config) *Server {
	cfg.setDefaults()
	return &Server{
		cfg:   cfg,
		store: agents.NewStore(),
		out:   &printer{w: cfg.Out, now: cfg.Now},
		conns: make(map[uint64]types.Connection),
		stop:  make(chan struct{}),
	}
}

// Start listens on every address and serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("devserver: already started")
	}
	handler, connContext, err := server.New(nil).Attach(server.Settings{
		Callbacks: types.Callbacks{OnConnecting: s.onConnecting},
	})
	if err != nil {
		return fmt.Errorf("devserver: attach OpAMP handler: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(s.cfg.OpAMPPath, handler)

	if err := s.listen(); err != nil {
		return err
	}
	s.opampSrv = &http.Server{Handler: mux, ConnContext: connContext, ReadHeaderTimeout: 10 * time.Second}
	s.uiSrv = &http.Server{Handler: s.uiHandler(), ReadHeaderTimeout: 10 * time.Second}
	s.started = true

	s.bg.Add(len(s.opampLns) + 2)
	for _, ln := range s.opampLns {
		go s.serve(s.opampSrv, ln)
	}
	go s.serve(s.uiSrv, s.uiLn)
	go s.sweep()
	return nil
}

// listen opens every listener, or none.
func (s *Server) listen() error {
	fail := func(err error) error {
		for _, ln := range s.opampLns {
			_ = ln.Close()
		}
		s.opampLns = nil
		return err
	}
	for _, addr := range s.cfg.OpAMPAddrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fail(fmt.Errorf("devserver: OpAMP listen address %q: %w", addr, err))
		}
		s.opampLns = append(s.opampLns, ln)
	}
	var err error
	if s.uiLn, err = net.Listen("tcp", s.cfg.UIAddr); err != nil {
		return fail(fmt.Errorf("devserver: page listen address %q: %w", s.cfg.UIAddr, err))
	}
	return nil
}

func (s *Server) serve(srv *http.Server, ln net.Listener) {
	defer s.bg.Done()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.out.printf("server on %s stopped: %v", ln.Addr(), err)
	}
}

// sweep marks silent HTTP agents offline; WebSocket agents are marked
// offline when their connection closes.
func (s *Server) sweep() {
	defer s.bg.Done()
	t := time.NewTicker(min(s.cfg.StaleAfter/3, 10*time.Second))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			for _, r := range s.store.Sweep(s.cfg.Now(), s.cfg.StaleAfter) {
				s.out.report(r)
			}
		}
	}
}

// OpAMPAddr is the address the first OpAMP listener listens on (after
// Start).
func (s *Server) OpAMPAddr() net.Addr { return s.opampLns[0].Addr() }

// OpAMPURLs are the WebSocket URLs of the OpAMP listeners (after Start),
// with a wildcard address turned into localhost.
func (s *Server) OpAMPURLs() []string {
	out := make([]string, len(s.opampLns))
	for i, ln := range s.opampLns {
		out[i] = "ws://" + Reachable(ln.Addr()) + s.cfg.OpAMPPath
	}
	return out
}

// Reachable turns a wildcard listen address into one a local client can
// dial.
func Reachable(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && t.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", strconv.Itoa(t.Port))
	}
	return a.String()
}

// UIAddr is the address the status page listens on (after Start).
func (s *Server) UIAddr() net.Addr { return s.uiLn.Addr() }

// Agents returns a snapshot of every agent seen, sorted by instance UID.
func (s *Server) Agents() []agents.Agent { return s.store.Snapshot() }

// Shutdown stops accepting, closes open WebSocket connections and waits
// for every goroutine the server started, or for ctx. Calling it again,
// or before Start, does nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.started || s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	open := make([]types.Connection, 0, len(s.conns))
	for _, c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()

	close(s.stop)
	// http.Server.Shutdown does not track hijacked (WebSocket) connections,
	// so those are closed by hand; their read loops then end.
	err := errors.Join(s.opampSrv.Shutdown(ctx), s.uiSrv.Shutdown(ctx))
	for _, c := range open {
		_ = c.Disconnect() // already closed by the agent is fine
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		s.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("devserver: waiting for connections to close: %w", ctx.Err()))
	}
}

// track registers an open WebSocket connection so Shutdown can close it,
// and reports false (closing it at once) when shutdown already began.
func (s *Server) track(id uint64, c types.Connection) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		_ = c.Disconnect()
		return false
	}
	s.conns[id] = c
	s.connWG.Add(1)
	s.mu.Unlock()
	return true
}

func (s *Server) untrack(id uint64) {
	s.mu.Lock()
	delete(s.conns, id)
	s.mu.Unlock()
	s.connWG.Done()
}
