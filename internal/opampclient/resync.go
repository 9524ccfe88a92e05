package opampclient

import (
	"context"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
)

// resync queues the whole state after a reconnection. opamp-go sends its
// full first message only on the very first connection; a server that
// restarted meanwhile has lost everything and may not ask for
// ReportFullState, so the agent offers it unasked. The calls coalesce into
// the next message(s) to send.
func (c *Client) resync(ctx context.Context) {
	if err := c.c.SetAgentDescription(c.c.AgentDescription()); err != nil {
		c.logger.Debug("Resync: agent description", zap.Error(err))
	}
	caps := c.settings.Capabilities
	if err := c.c.SetCapabilities(&caps); err != nil {
		c.logger.Debug("Resync: capabilities", zap.Error(err))
	}
	if caps&protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig != 0 {
		if err := c.c.UpdateEffectiveConfig(ctx); err != nil {
			c.logger.Debug("Resync: effective config", zap.Error(err))
		}
	}
	if build := c.settings.AvailableComponents; build != nil && caps&protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents != 0 {
		ac := build()
		// opamp-go sends the hash only when the components change: set a
		// hash-only copy, then the full value back, which queues the hash
		// (the same one both times) and leaves the full map in place.
		hashOnly := &protobufs.AvailableComponents{Hash: ac.GetHash()}
		if err := c.c.SetAvailableComponents(hashOnly); err != nil {
			c.logger.Debug("Resync: available components", zap.Error(err))
		}
		if err := c.c.SetAvailableComponents(ac); err != nil {
			c.logger.Debug("Resync: available components", zap.Error(err))
		}
	}
}
