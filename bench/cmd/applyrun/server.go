package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server"
	"github.com/open-telemetry/opamp-go/server/types"
)

// opampPath is the URL path agents connect to.
const opampPath = "/v1/opamp"

// pushServer is an opamp-go server that keeps every message it gets (one
// agent at a time: a run) and can push a remote config to the agent over
// its latest WebSocket connection. It answers each message with an empty
// ServerToAgent, as the Supervisor does: nothing it says may cost the agent
// time except the config under test.
type pushServer struct {
	ln     net.Listener
	http   *http.Server
	served chan struct{}

	log *journal[*protobufs.AgentToServer]

	mu   sync.Mutex
	conn types.Connection // the connection of the latest message
	uid  []byte
}

func startPushServer() (*pushServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &pushServer{ln: ln, served: make(chan struct{}), log: newJournal[*protobufs.AgentToServer]()}
	handler, connContext, err := server.New(nil).Attach(server.Settings{Callbacks: types.Callbacks{
		OnConnecting: func(*http.Request) types.ConnectionResponse {
			return types.ConnectionResponse{Accept: true, ConnectionCallbacks: types.ConnectionCallbacks{
				OnMessage: s.onMessage,
			}}
		},
	}})
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("attach the OpAMP server: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(opampPath, handler)
	s.http = &http.Server{Handler: mux, ConnContext: connContext, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.served)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// endpoint is the ws:// URL agents use.
func (s *pushServer) endpoint() string { return "ws://" + s.ln.Addr().String() + opampPath }

func (s *pushServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
	<-s.served
}

func (s *pushServer) onMessage(_ context.Context, conn types.Connection, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
	s.log.add(time.Now(), msg)
	s.mu.Lock()
	s.conn, s.uid = conn, msg.GetInstanceUid()
	s.mu.Unlock()
	return &protobufs.ServerToAgent{InstanceUid: msg.GetInstanceUid()}
}

// reset forgets every message, for the next run.
func (s *pushServer) reset() {
	s.log.reset()
	s.mu.Lock()
	s.conn, s.uid = nil, nil
	s.mu.Unlock()
}

// errNoAgent: push was called before any agent connected.
var errNoAgent = errors.New("no agent is connected")

// push sends rc to the agent and returns the time just before the write.
func (s *pushServer) push(ctx context.Context, rc *protobufs.AgentRemoteConfig) (time.Time, error) {
	s.mu.Lock()
	conn, uid := s.conn, s.uid
	s.mu.Unlock()
	if conn == nil {
		return time.Time{}, errNoAgent
	}
	at := time.Now()
	if err := conn.Send(ctx, &protobufs.ServerToAgent{InstanceUid: uid, RemoteConfig: rc}); err != nil {
		return time.Time{}, fmt.Errorf("push the remote config: %w", err)
	}
	return at, nil
}

// await returns the first message decoded at or after since that satisfies
// match, waiting up to timeout for it.
func (s *pushServer) await(ctx context.Context, since time.Time, timeout time.Duration, match func(*protobufs.AgentToServer) bool) (stamped[*protobufs.AgentToServer], error) {
	m, err := s.log.await(ctx, since, timeout, match)
	if err != nil {
		return m, fmt.Errorf("no matching message from the agent: %w", err)
	}
	return m, nil
}

// healthyWith matches a health saying healthy in which every named pipeline
// ("pipeline:<id>", the tree of our extension, which the Supervisor relays
// as it is) is present and healthy: the Collector runs that config.
func healthyWith(pipelines ...string) func(*protobufs.AgentToServer) bool {
	return func(m *protobufs.AgentToServer) bool {
		h := m.GetHealth()
		if h == nil || !h.GetHealthy() {
			return false
		}
		for _, p := range pipelines {
			if c := h.GetComponentHealthMap()[p]; c == nil || !c.GetHealthy() {
				return false
			}
		}
		return true
	}
}

// statusIs matches a remote config status of the given config hash.
func statusIs(hash []byte, st protobufs.RemoteConfigStatuses) func(*protobufs.AgentToServer) bool {
	return func(m *protobufs.AgentToServer) bool {
		rs := m.GetRemoteConfigStatus()
		return rs != nil && rs.GetStatus() == st && string(rs.GetLastRemoteConfigHash()) == string(hash)
	}
}
