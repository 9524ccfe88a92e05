package opampclient

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// DefaultMaxSendSize is the largest message sent when Settings leave it
// zero: the specification's recommended 64 MiB.
const DefaultMaxSendSize = 64 << 20

// errTooLarge marks a message that does not fit the send limit even with
// every report left out. Like errEncode it is no fault of the connection.
var errTooLarge = errors.New("the message is larger than the send limit")

// DiscardObserver is an Observer that also learns of reports left out of
// a message to keep it within the send limit. The client checks for it
// on Settings.Observer.
type DiscardObserver interface {
	ReportDiscarded(kind Kind)
}

// sendLimits holds the outbound limit: the configured one, and a lower
// one learnt from a server that refused a message for its size (HTTP 413,
// or a WebSocket close with 1009), kept until the next new connection.
type sendLimits struct {
	configured int
	learnt     atomic.Int64 // 0: none
	warned     atomic.Uint32
}

func (l *sendLimits) limit() int {
	if n := int(l.learnt.Load()); n > 0 && n < l.configured {
		return n
	}
	return l.configured
}

// forget drops a learnt limit: a new connection may reach another server,
// or one whose limit changed (a redeploy), and gets the full state anyway.
func (l *sendLimits) forget() { l.learnt.Store(0) }

// learn lowers the limit below size, a message the server refused.
func (l *sendLimits) learn(size int) {
	n := int64(max(size-1, 1))
	for {
		cur := l.learnt.Load()
		if cur != 0 && cur <= n || l.learnt.CompareAndSwap(cur, n) {
			return
		}
	}
}

// trimOrder is the order in which reports are left out of a message too
// large to send: the largest and least vital first, so the server still
// learns the description and the health.
var trimOrder = []struct {
	kind  Kind
	clear func(m *protobufs.AgentToServer)
}{
	{KindEffectiveConfig, func(m *protobufs.AgentToServer) { m.EffectiveConfig = nil }},
	{KindAvailableComponents, func(m *protobufs.AgentToServer) { m.AvailableComponents = nil }},
	{KindCustomMessage, func(m *protobufs.AgentToServer) { m.CustomMessage = nil }},
	{KindCustomCapabilities, func(m *protobufs.AgentToServer) { m.CustomCapabilities = nil }},
	{KindRemoteConfigStatus, func(m *protobufs.AgentToServer) { m.RemoteConfigStatus = nil }},
	{KindHealth, func(m *protobufs.AgentToServer) { m.Health = nil }},
	{KindAgentDescription, func(m *protobufs.AgentToServer) { m.AgentDescription = nil }},
}

// encodeWithin encodes o after prefix within the send limit (prefix
// included): what does not fit is left out, largest first, and listed in
// o.discarded. o.size is set to the encoded size.
func (c *Client) encodeWithin(prefix []byte, o *outgoing) ([]byte, error) {
	data, err := c.encode(prefix, o.msg)
	if err != nil {
		return nil, err
	}
	limit := c.limits.limit()
	if o.otherServer {
		limit = c.limits.configured // what was learnt is the current server's
	}
	for _, part := range trimOrder {
		if len(data) <= limit {
			break
		}
		if o.kinds&part.kind == 0 {
			continue
		}
		if part.kind == KindCustomMessage && c.fitsAlone(prefix, o.msg) {
			// It goes in a message of its own, next: a custom message is
			// queued, not state, and would otherwise be lost.
			o.custom = nil
			defer c.report.signal()
		} else {
			o.discarded = append(o.discarded, part.kind)
		}
		part.clear(o.msg)
		o.kinds &^= part.kind
		if data, err = c.encode(prefix, o.msg); err != nil {
			return nil, err
		}
	}
	o.size = len(data)
	if len(data) > limit {
		return nil, fmt.Errorf("%w (%d bytes, limit %d)", errTooLarge, len(data), limit)
	}
	if o.kinds == 0 {
		o.kinds = KindHeartbeat
	}
	return data, nil
}

// fitsAlone: m's custom message fits the limit in a message that carries
// nothing else.
func (c *Client) fitsAlone(prefix []byte, m *protobufs.AgentToServer) bool {
	alone := &protobufs.AgentToServer{InstanceUid: m.GetInstanceUid(), SequenceNum: m.GetSequenceNum(),
		Capabilities: m.GetCapabilities(), CustomMessage: m.GetCustomMessage()}
	return len(prefix)+proto.Size(alone) <= c.limits.limit()
}

// recordDiscards tells the observer of the reports o left out, and logs
// the first of each kind as a warning (later ones at debug level).
func (c *Client) recordDiscards(o *outgoing) {
	for _, k := range o.discarded {
		if d, ok := c.settings.Observer.(DiscardObserver); ok {
			d.ReportDiscarded(k)
		}
		level := zap.DebugLevel
		if prev := c.limits.warned.Load(); prev&uint32(k) == 0 && c.limits.warned.CompareAndSwap(prev, prev|uint32(k)) {
			level = zap.WarnLevel
		}
		c.logger.Log(level, "Left a report out of a message to the OpAMP server: the message would be larger than the send limit; the rest was sent (logged once per kind)",
			zap.String("report", k.String()), zap.Int("limit", c.limits.limit()))
	}
}

// String names a kind of report.
func (k Kind) String() string {
	names := map[Kind]string{
		KindAgentDescription: "agent_description", KindHealth: "health", KindEffectiveConfig: "effective_config",
		KindAvailableComponents: "available_components", KindCustomCapabilities: "custom_capabilities",
		KindCustomMessage: "custom_message", KindHeartbeat: "heartbeat", KindRemoteConfigStatus: "remote_config_status",
	}
	if n, ok := names[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}
