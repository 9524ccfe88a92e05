package testserver

import (
	"context"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server/types"
	"google.golang.org/protobuf/proto"
)

// contentTypeProtobuf marks a plain-HTTP OpAMP request; opamp-go's server
// upgrades every other accepted request to WebSocket.
const contentTypeProtobuf = "application/x-protobuf"

// connInfo is one accepted connection: a WebSocket or a single HTTP poll.
// Its fields are guarded by Server.mu.
type connInfo struct {
	header http.Header
	ws     bool
	conn   types.Connection // set by OnConnected
	uid    string           // agent last seen on this connection
}

// handleConnecting records the attempt and gives each accepted connection
// its own callbacks, so that state is tied to the connection without keying
// maps by opamp-go's Connection values.
func (s *Server) handleConnecting(r *http.Request) types.ConnectionResponse {
	header := r.Header.Clone()
	s.mu.Lock()
	s.headers = append(s.headers, header.Clone())
	s.mu.Unlock()

	if s.onConnecting != nil {
		if accept, status := s.onConnecting(r); !accept {
			if status == 0 {
				status = http.StatusUnauthorized
			}
			return types.ConnectionResponse{HTTPStatusCode: status}
		}
	}
	ci := &connInfo{header: header, ws: r.Header.Get("Content-Type") != contentTypeProtobuf}
	return types.ConnectionResponse{
		Accept: true,
		ConnectionCallbacks: types.ConnectionCallbacks{
			OnConnected: func(_ context.Context, conn types.Connection) { s.connected(ci, conn) },
			OnMessage: func(_ context.Context, _ types.Connection, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
				return s.handleMessage(ci, msg)
			},
			OnConnectionClose: func(types.Connection) { s.closed(ci) },
		},
	}
}

func (s *Server) connected(ci *connInfo, conn types.Connection) {
	s.mu.Lock()
	ci.conn = conn
	s.open[ci] = struct{}{}
	late := s.stopping && ci.ws
	s.mu.Unlock()
	if late {
		// Accepted while stopping: close it so its goroutine ends.
		_ = conn.Disconnect()
	}
}

func (s *Server) closed(ci *connInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, ci)
	if rec, ok := s.agents[ci.uid]; ok && rec.ws == ci {
		rec.ws = nil
	}
}

// handleMessage records msg, asks the responder for a reply and folds in the
// messages queued by Send for this agent.
func (s *Server) handleMessage(ci *connInfo, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
	uid, err := formatUID(msg.GetInstanceUid())
	if err != nil {
		return &protobufs.ServerToAgent{
			InstanceUid: msg.GetInstanceUid(),
			ErrorResponse: &protobufs.ServerErrorResponse{
				Type:         protobufs.ServerErrorResponseType_ServerErrorResponseType_BadRequest,
				ErrorMessage: err.Error(),
			},
		}
	}

	s.mu.Lock()
	rec := s.agentLocked(uid)
	if ci.uid != uid {
		// First message of this agent on this connection (or the agent took a
		// new uid): bind them.
		if old, ok := s.agents[ci.uid]; ok && old.ws == ci {
			old.ws = nil
		}
		ci.uid = uid
		rec.state.Headers = append(rec.state.Headers, ci.header.Clone())
		if ci.ws {
			rec.ws = ci
		}
	}
	rec.apply(msg, ci.ws)
	s.mu.Unlock()

	reply := s.responder(uid, msg)

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range rec.pending {
		if reply == nil {
			reply = &protobufs.ServerToAgent{}
		}
		mergeReply(reply, q)
	}
	rec.pending = nil
	if reply != nil {
		if len(reply.GetInstanceUid()) == 0 {
			reply.InstanceUid = msg.GetInstanceUid()
		}
		rec.state.Sent = append(rec.state.Sent, proto.CloneOf(reply))
	}
	return reply
}

// agentLocked returns the record of uid, creating it. Callers hold s.mu.
func (s *Server) agentLocked(uid string) *agentRecord {
	rec, ok := s.agents[uid]
	if !ok {
		rec = &agentRecord{state: AgentState{UID: uid}}
		s.agents[uid] = rec
	}
	return rec
}

// formatUID renders a 16-byte instance uid as a UUID string, the form the
// extension's instance_uid setting and the Supervisor use.
func formatUID(b []byte) (string, error) {
	u, err := uuid.FromBytes(b)
	if err != nil {
		return "", fmt.Errorf("instance_uid: want 16 bytes, got %d", len(b))
	}
	return u.String(), nil
}

// normalizeUID maps any spelling of a UUID to the form used as map key.
func normalizeUID(uid string) string {
	if u, err := uuid.Parse(uid); err == nil {
		return u.String()
	}
	return uid
}
