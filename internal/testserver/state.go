package testserver

import (
	"bytes"
	"net/http"

	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// Transport is how an agent talks to the server.
type Transport string

// Transports.
const (
	TransportWebSocket Transport = "websocket"
	TransportHTTP      Transport = "http"
)

// AgentState is a snapshot of what one agent has reported. Following the
// OpAMP compression rule, a field absent from a message keeps its previous
// value. Snapshots are deep copies: callers may read and modify them freely.
type AgentState struct {
	UID string
	// Transport of the agent's latest message.
	Transport Transport
	// Connected is true while the agent has an open WebSocket connection.
	Connected bool

	Description        *protobufs.AgentDescription
	EffectiveConfig    *protobufs.EffectiveConfig
	Health             *protobufs.ComponentHealth
	RemoteConfigStatus *protobufs.RemoteConfigStatus
	// ConnectionSettingsStatus is the latest connection settings status.
	ConnectionSettingsStatus *protobufs.ConnectionSettingsStatus
	CustomCapabilities       *protobufs.CustomCapabilities
	// AvailableComponents is the last full map reported (with its hash).
	AvailableComponents *protobufs.AvailableComponents
	// AvailableComponentsHash is the last hash reported, with or without the map.
	AvailableComponentsHash []byte
	// Capabilities is the latest non-zero AgentCapabilities bitmask.
	Capabilities uint64
	// Flags of the latest message.
	Flags uint64
	// SequenceNums of every message, in arrival order.
	SequenceNums []uint64

	// Messages holds every message received, in arrival order.
	Messages []*protobufs.AgentToServer
	// CustomMessages holds every custom message received, in arrival order.
	CustomMessages []*protobufs.CustomMessage
	// MessageCount and Bytes (sum of proto.Size) count what was received.
	MessageCount int
	Bytes        int
	// Disconnected is true when the latest message carried AgentDisconnect.
	Disconnected bool

	// Headers holds the request headers of each WebSocket connection and
	// each HTTP poll of this agent.
	Headers []http.Header
	// Sent holds every message the server sent to the agent, replies included.
	Sent []*protobufs.ServerToAgent
}

// HasCapability reports whether the agent's latest capabilities include c.
func (a *AgentState) HasCapability(c protobufs.AgentCapabilities) bool {
	return a.Capabilities&uint64(c) != 0
}

// agentRecord is the server's live record of an agent, guarded by Server.mu.
type agentRecord struct {
	state AgentState
	// ws is the agent's open WebSocket connection, nil when it has none.
	ws *connInfo
	// pending holds messages from Send awaiting the agent's next message.
	pending []*protobufs.ServerToAgent
}

// apply merges one received message into the record.
func (r *agentRecord) apply(msg *protobufs.AgentToServer, ws bool) {
	st := &r.state
	st.Transport = TransportHTTP
	if ws {
		st.Transport = TransportWebSocket
	}
	if msg.AgentDescription != nil {
		st.Description = proto.CloneOf(msg.AgentDescription)
	}
	if msg.EffectiveConfig != nil {
		st.EffectiveConfig = proto.CloneOf(msg.EffectiveConfig)
	}
	if msg.Health != nil {
		st.Health = proto.CloneOf(msg.Health)
	}
	if msg.RemoteConfigStatus != nil {
		st.RemoteConfigStatus = proto.CloneOf(msg.RemoteConfigStatus)
	}
	if msg.ConnectionSettingsStatus != nil {
		st.ConnectionSettingsStatus = proto.CloneOf(msg.ConnectionSettingsStatus)
	}
	if msg.CustomCapabilities != nil {
		st.CustomCapabilities = proto.CloneOf(msg.CustomCapabilities)
	}
	if ac := msg.AvailableComponents; ac != nil {
		st.AvailableComponentsHash = bytes.Clone(ac.GetHash())
		if len(ac.GetComponents()) > 0 {
			st.AvailableComponents = proto.CloneOf(ac)
		}
	}
	if msg.Capabilities != 0 {
		st.Capabilities = msg.Capabilities
	}
	st.Flags = msg.Flags
	st.SequenceNums = append(st.SequenceNums, msg.SequenceNum)
	st.Messages = append(st.Messages, proto.CloneOf(msg))
	if msg.CustomMessage != nil {
		st.CustomMessages = append(st.CustomMessages, proto.CloneOf(msg.CustomMessage))
	}
	st.MessageCount++
	st.Bytes += proto.Size(msg)
	st.Disconnected = msg.AgentDisconnect != nil
}

// needsFullComponents reports whether msg carried only an AvailableComponents
// hash that differs from the last full map received.
func (r *agentRecord) needsFullComponents(msg *protobufs.AgentToServer) bool {
	ac := msg.GetAvailableComponents()
	if ac == nil || len(ac.GetComponents()) > 0 || len(ac.GetHash()) == 0 {
		return false
	}
	return !bytes.Equal(ac.GetHash(), r.state.AvailableComponents.GetHash())
}

// snapshot deep-copies the state. Callers hold Server.mu.
func (r *agentRecord) snapshot() *AgentState {
	st := r.state
	out := &AgentState{
		UID:                      st.UID,
		Transport:                st.Transport,
		Connected:                r.ws != nil,
		Description:              proto.CloneOf(st.Description),
		EffectiveConfig:          proto.CloneOf(st.EffectiveConfig),
		Health:                   proto.CloneOf(st.Health),
		RemoteConfigStatus:       proto.CloneOf(st.RemoteConfigStatus),
		ConnectionSettingsStatus: proto.CloneOf(st.ConnectionSettingsStatus),
		CustomCapabilities:       proto.CloneOf(st.CustomCapabilities),
		AvailableComponents:      proto.CloneOf(st.AvailableComponents),
		AvailableComponentsHash:  bytes.Clone(st.AvailableComponentsHash),
		Capabilities:             st.Capabilities,
		Flags:                    st.Flags,
		SequenceNums:             append([]uint64(nil), st.SequenceNums...),
		Messages:                 cloneAll(st.Messages),
		CustomMessages:           cloneAll(st.CustomMessages),
		MessageCount:             st.MessageCount,
		Bytes:                    st.Bytes,
		Disconnected:             st.Disconnected,
		Sent:                     cloneAll(st.Sent),
	}
	for _, h := range st.Headers {
		out.Headers = append(out.Headers, h.Clone())
	}
	return out
}

// cloneAll deep-copies a list of messages.
func cloneAll[M interface {
	*T
	proto.Message
}, T any](in []M) []M {
	if in == nil {
		return nil
	}
	out := make([]M, len(in))
	for i, m := range in {
		out[i] = proto.CloneOf(m)
	}
	return out
}
