package opampclient

import (
	"context"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
)

// Connected reports whether the client is connected (HTTP: the last poll
// succeeded).
func (c *Client) Connected() bool { return c.state.isConnected() }

// InstanceUID is the current instance uid (the server may have replaced it).
func (c *Client) InstanceUID() types.InstanceUid { return c.report.instanceUID() }

// SetInstanceUID replaces the instance uid the agent reports. The server
// sees a new agent, so the next message carries the full state.
func (c *Client) SetInstanceUID(uid types.InstanceUid) {
	c.report.setUID(uid)
	c.report.markFull()
}

// SetAgentDescription replaces the description; it is sent if it changed.
func (c *Client) SetAgentDescription(d *protobufs.AgentDescription) error {
	if d == nil {
		return errNoDescription
	}
	c.report.setDescription(d)
	return nil
}

// AgentDescription returns a copy of the description the client reports.
func (c *Client) AgentDescription() *protobufs.AgentDescription { return c.report.descriptionCopy() }

// SetHealth replaces the health tree; it is sent if it changed.
func (c *Client) SetHealth(h *protobufs.ComponentHealth) error {
	if !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth) {
		return errHealthOff
	}
	if h == nil {
		return errNoHealth
	}
	c.report.setHealth(h)
	return nil
}

// UpdateEffectiveConfig fetches the effective config from the handler and
// sends it if it changed.
func (c *Client) UpdateEffectiveConfig(ctx context.Context) error {
	get := c.settings.Handler.GetEffectiveConfig
	if get == nil || !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig) {
		return nil
	}
	ec, err := get(ctx)
	if err != nil {
		return err
	}
	c.report.setEffectiveConfig(ec)
	return nil
}

// SetCustomCapabilities replaces the advertised custom capabilities.
func (c *Client) SetCustomCapabilities(cc *protobufs.CustomCapabilities) error {
	c.report.setCustomCapabilities(cc)
	return nil
}

// SendCustomMessage queues a custom message. Only one waits at a time: a
// second one gets types.ErrCustomMessagePending and a channel that closes
// when the first has been sent.
func (c *Client) SendCustomMessage(m *protobufs.CustomMessage) (chan struct{}, error) {
	if m == nil {
		return nil, types.ErrCustomMessageMissing
	}
	if !c.report.hasCustomCapability(m.GetCapability()) {
		return nil, types.ErrCustomCapabilityNotSupported
	}
	return c.report.queueCustom(m)
}
