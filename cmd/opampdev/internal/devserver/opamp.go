package devserver

import (
	"context"
	"net"
	"net/http"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server/types"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
)

// serverCapabilities is what the dev server does: it listens, and offers
// the remote configs and connection settings typed into its page.
const serverCapabilities = uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus |
	protobufs.ServerCapabilities_ServerCapabilities_AcceptsEffectiveConfig |
	protobufs.ServerCapabilities_ServerCapabilities_OffersRemoteConfig |
	protobufs.ServerCapabilities_ServerCapabilities_OffersConnectionSettings)

// onConnecting accepts every request and gives it its own handler, so the
// handler knows its transport and connection ID. opamp-go treats a request
// with a protobuf body as plain HTTP and anything else as a WebSocket
// upgrade; the same test is used here.
func (s *Server) onConnecting(req *http.Request) types.ConnectionResponse {
	tr := agents.TransportWebSocket
	if req.Header.Get("Content-Type") == "application/x-protobuf" {
		tr = agents.TransportHTTP
	}
	h := &connHandler{s: s, conn: agents.Conn{ID: s.nextID.Add(1), Transport: tr, Remote: req.RemoteAddr}}
	// With several listeners, the one reached tells where an agent is.
	if a, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		h.conn.Listener = a.String()
	}
	return types.ConnectionResponse{
		Accept: true,
		ConnectionCallbacks: types.ConnectionCallbacks{
			OnConnected:       h.onConnected,
			OnMessage:         h.onMessage,
			OnConnectionClose: h.onClose,
		},
	}
}

// connHandler serves one connection. opamp-go never calls the callbacks of
// one connection concurrently, so its fields need no lock.
type connHandler struct {
	s       *Server
	conn    agents.Conn
	uid     string // instance UID seen on this connection
	tracked bool
}

func (h *connHandler) onConnected(_ context.Context, c types.Connection) {
	if h.conn.Transport == agents.TransportWebSocket {
		h.tracked = h.s.track(h.conn.ID, c)
	}
}

func (h *connHandler) onMessage(_ context.Context, _ types.Connection, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
	h.uid = agents.FormatUID(msg.GetInstanceUid())
	r := h.s.store.Apply(h.s.cfg.Now(), h.conn, msg)
	h.s.out.report(r)
	return &protobufs.ServerToAgent{
		InstanceUid:  msg.GetInstanceUid(),
		Flags:        r.Flags,
		Capabilities: serverCapabilities,
		RemoteConfig: r.RemoteConfig,
		// ConnectionSettings: only an offer an HTTP agent (or one that was
		// offline) has not had; a WebSocket one gets it pushed.
		ConnectionSettings: r.ConnectionSettings,
	}
}

func (h *connHandler) onClose(types.Connection) {
	// Untracked last: Shutdown waits for it, and the agent must be offline
	// by the time Shutdown returns.
	if h.tracked {
		defer h.s.untrack(h.conn.ID)
	}
	// A plain HTTP request "closes" after every poll; only a closed
	// WebSocket means the agent went away.
	if h.conn.Transport != agents.TransportWebSocket || h.uid == "" {
		return
	}
	if r, ok := h.s.store.Disconnect(h.uid, h.conn.ID); ok {
		h.s.out.report(r)
	}
}
