// Package agents keeps the dev server's in-memory view of the agents that
// report to it and turns each AgentToServer message into short,
// human-readable lines about what changed.
package agents // import "github.com/opampext/opampextension/cmd/opampdev/internal/agents"

import (
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// Transport says how an agent reaches the server.
type Transport string

// The two OpAMP transports, both served on the same endpoint.
const (
	TransportWebSocket Transport = "websocket"
	TransportHTTP      Transport = "http"
)

// Conn identifies the connection a message arrived on. ID is unique per
// WebSocket connection (and per HTTP request), so a late close of an old
// connection cannot mark a reconnected agent offline.
type Conn struct {
	ID        uint64
	Transport Transport
	Remote    string
	// Listener is the server's address the connection reached: with more
	// than one, it tells where an agent moved.
	Listener string
}

// Attribute is one key/value of an agent description or component metadata,
// with the value rendered as text.
type Attribute struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Health is one node of an agent's component health tree.
type Health struct {
	Healthy    bool               `json:"healthy"`
	Status     string             `json:"status,omitempty"`
	LastError  string             `json:"last_error,omitempty"`
	StartTime  *time.Time         `json:"start_time,omitempty"`
	StatusTime *time.Time         `json:"status_time,omitempty"`
	Components map[string]*Health `json:"components,omitempty"`
}

// ConfigFile is one entry of an agent's effective config map.
type ConfigFile struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body"`
}

// Component is one available component type of one kind.
type Component struct {
	Type     string      `json:"type"`
	Metadata []Attribute `json:"metadata,omitempty"`
}

// Agent is everything the server knows about one agent instance.
//
// Slices and maps held by an Agent are replaced, never modified in place,
// when a report arrives, so snapshots share them with the store: readers
// must treat them as read-only.
type Agent struct {
	InstanceUID         string                 `json:"instance_uid"`
	Connected           bool                   `json:"connected"`
	Transport           Transport              `json:"transport"`
	RemoteAddr          string                 `json:"remote_addr"`
	Listener            string                 `json:"listener,omitempty"`
	FirstSeen           time.Time              `json:"first_seen"`
	LastSeen            time.Time              `json:"last_seen"`
	SequenceNum         uint64                 `json:"sequence_num"`
	Messages            uint64                 `json:"messages"`
	Capabilities        []string               `json:"capabilities,omitempty"`
	Identifying         []Attribute            `json:"identifying_attributes,omitempty"`
	NonIdentifying      []Attribute            `json:"non_identifying_attributes,omitempty"`
	Health              *Health                `json:"health,omitempty"`
	EffectiveConfig     []ConfigFile           `json:"effective_config,omitempty"`
	AvailableComponents map[string][]Component `json:"available_components,omitempty"`
	ComponentsHash      string                 `json:"available_components_hash,omitempty"`
	CustomCapabilities  []string               `json:"custom_capabilities,omitempty"`
	RemoteConfigStatus  *OfferStatus           `json:"remote_config_status,omitempty"`
	StatusChanges       []StatusChange         `json:"remote_config_status_changes,omitempty"`
	SentConfig          *SentConfig            `json:"sent_config,omitempty"`
	// ConnectionStatus is the agent's connection_settings_status.
	ConnectionStatus        *OfferStatus    `json:"connection_settings_status,omitempty"`
	ConnectionStatusChanges []StatusChange  `json:"connection_settings_status_changes,omitempty"`
	SentConnection          *SentConnection `json:"sent_connection_settings,omitempty"`

	connID       uint64
	capabilities uint64
	offer        *protobufs.AgentRemoteConfig // what SentConfig describes
	offerPending bool                         // offer not yet sent on the current connection
	// connOffer is the connection settings offer waiting for the answer
	// to the agent's next message; nil once sent, so the server holds
	// no header value longer than it must.
	connOffer *protobufs.ConnectionSettingsOffers
}

// Name is the agent's service.name, or "" when it has not said.
func (a *Agent) Name() string {
	for _, attr := range a.Identifying {
		if attr.Key == "service.name" {
			return attr.Value
		}
	}
	return ""
}

// Label is a short name for terminal output: service name plus the first
// eight characters of the instance UID, enough to tell agents apart.
func (a *Agent) Label() string {
	short := a.InstanceUID
	if len(short) > 8 {
		short = short[:8]
	}
	if n := a.Name(); n != "" {
		return n + "/" + short
	}
	return short
}
