package testserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Send delivers msg to the agent: at once over its open WebSocket
// connection, otherwise (HTTP polling, or WebSocket between connections) in
// the reply to its next message, merged with any other queued message.
// msg is copied and its instance_uid set to uid.
func (s *Server) Send(uid string, msg *protobufs.ServerToAgent) error {
	if msg == nil {
		return errors.New("testserver: send: nil message")
	}
	id, err := uuid.Parse(uid)
	if err != nil {
		return fmt.Errorf("testserver: send: agent uid %q: %w", uid, err)
	}
	out := proto.CloneOf(msg)
	out.InstanceUid = id[:]

	s.mu.Lock()
	rec, ok := s.agents[id.String()]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("testserver: send: unknown agent %q", uid)
	}
	if rec.ws == nil {
		rec.pending = append(rec.pending, out)
		s.mu.Unlock()
		return nil
	}
	conn := rec.ws.conn
	s.mu.Unlock()

	// opamp-go serialises writes on a WebSocket connection.
	if err := conn.Send(context.Background(), out); err != nil {
		return fmt.Errorf("testserver: send to agent %q: %w", uid, err)
	}
	s.mu.Lock()
	rec.state.Sent = append(rec.state.Sent, out)
	s.mu.Unlock()
	return nil
}

// DefaultReply is the reply used unless WithResponder is given: an empty
// message for the agent, with the ReportAvailableComponents flag when the
// agent reported only an AvailableComponents hash whose full map the server
// has not received (what the OpAMP Supervisor does). Custom responders may
// call it and add to its result.
func (s *Server) DefaultReply(agentUID string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
	reply := &protobufs.ServerToAgent{InstanceUid: msg.GetInstanceUid()}
	s.mu.Lock()
	rec, ok := s.agents[agentUID]
	need := ok && rec.needsFullComponents(msg)
	s.mu.Unlock()
	if need {
		reply.Flags |= uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents)
	}
	return reply
}

// mergeReply folds src into dst: each field set in src replaces dst's (a
// later remote config replaces an earlier one rather than mixing with it),
// and the flags and capabilities bitmasks are OR-ed.
func mergeReply(dst, src *protobufs.ServerToAgent) {
	flags := dst.GetFlags() | src.GetFlags()
	caps := dst.GetCapabilities() | src.GetCapabilities()
	d := dst.ProtoReflect()
	proto.CloneOf(src).ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		d.Set(fd, v)
		return true
	})
	dst.Flags = flags
	dst.Capabilities = caps
}
