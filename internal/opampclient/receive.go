package opampclient

import (
	"context"
	"time"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
)

// maxRetryAfter bounds how long a server's retry_after may hold the agent.
const maxRetryAfter = time.Hour

// process handles one message from the server, on the receiving goroutine.
// Whatever it carries that the agent did not declare it can handle is
// ignored with one debug line; nothing in it can stop the client.
func (c *Client) process(ctx context.Context, msg *protobufs.ServerToAgent) {
	c.settings.Observer.MessageReceived()
	c.report.setServerCapabilities(msg.GetCapabilities())
	if len(msg.GetInstanceUid()) != 0 && len(msg.GetInstanceUid()) != 16 {
		c.logger.Debug("Ignoring the instance_uid of a server message: not 16 bytes", zap.Int("length", len(msg.GetInstanceUid())))
	}
	if cmd := msg.GetCommand(); cmd != nil {
		// A command message carries nothing else worth acting on (spec).
		if !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRestartCommand) {
			c.logger.Debug("Ignoring a command: accepts_restart_command is off", zap.String("type", cmd.GetType().String()))
			return
		}
		if h := c.settings.Handler.OnCommand; h != nil {
			if err := h(ctx, cmd); err != nil {
				c.logger.Warn("The server's command failed", zap.String("type", cmd.GetType().String()), zap.Error(err))
			}
		}
		return
	}

	flags := msg.GetFlags()
	if flags&uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState) != 0 {
		c.report.markFull()
	}
	if flags&uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents) != 0 {
		c.report.markComponentsFull()
	}

	data := &types.MessageData{}
	if rc := msg.GetRemoteConfig(); rc != nil {
		data.RemoteConfig = c.acceptRemoteConfig(rc)
	}
	if msg.GetPackagesAvailable() != nil {
		c.logger.Debug("Ignoring offered packages: the agent does not accept packages")
	}
	if cs := msg.GetConnectionSettings(); cs != nil {
		c.onConnectionSettings(cs)
		if h := c.settings.Handler.OnConnectionSettings; h != nil {
			if offers := c.report.acceptOffers(cs); offers != nil {
				h(ctx, offers)
			}
		}
	}
	if id := msg.GetAgentIdentification(); id != nil {
		if uid, ok := parseUID(id.GetNewInstanceUid()); ok {
			c.report.setUID(uid)
			data.AgentIdentification = id
		} else {
			c.logger.Debug("Ignoring a new instance uid: not 16 bytes, or all zero", zap.Int("length", len(id.GetNewInstanceUid())))
		}
	}
	if cc := msg.GetCustomCapabilities(); cc != nil {
		data.CustomCapabilities = cc
	}
	if cm := msg.GetCustomMessage(); cm != nil {
		if c.report.hasCustomCapability(cm.GetCapability()) {
			data.CustomMessage = cm
		} else {
			c.logger.Debug("Ignoring a custom message for a capability the agent does not advertise", zap.String("capability", cm.GetCapability()))
		}
	}
	if h := c.settings.Handler.OnMessage; h != nil && (data.AgentIdentification != nil || data.CustomCapabilities != nil || data.CustomMessage != nil || data.RemoteConfig != nil) {
		h(ctx, data)
	}
	if er := msg.GetErrorResponse(); er != nil {
		c.onServerError(er)
	}
}

// parseUID accepts exactly 16 bytes, not all zero (the unset uid).
func parseUID(b []byte) (types.InstanceUid, bool) {
	if len(b) != 16 {
		return types.InstanceUid{}, false
	}
	uid := types.InstanceUid(b)
	return uid, uid != types.InstanceUid{}
}

// onConnectionSettings applies what this client understands of an offer:
// the heartbeat interval, when the agent reports heartbeats. An offered 0
// keeps the interval in use: proto3 cannot tell 0 from a field left out,
// servers send offers carrying only headers, and taking those as "no
// heartbeats" would silence an agent by accident (over HTTP: stop its
// polling for good). See CONFORMANCE.md, heartbeat-offer-zero.
func (c *Client) onConnectionSettings(cs *protobufs.ConnectionSettingsOffers) {
	secs := cs.GetOpamp().GetHeartbeatIntervalSeconds()
	if secs == 0 || !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat) {
		return
	}
	d := time.Duration(min(secs, uint64(maxRetryAfter/time.Second))) * time.Second
	c.offered.Store(int64(d))
	if c.heartbeat.Swap(int64(d)) != int64(d) {
		c.logger.Debug("The server set the heartbeat interval", zap.Duration("interval", d))
		c.report.signal() // the WebSocket sender restarts its timer
	}
}

// pollInterval is the HTTP polling interval: the server's offered heartbeat
// interval when the agent reports heartbeats (the specification's rule),
// else the configured polling interval, shortened to the configured
// heartbeat interval when heartbeats are reported.
func (c *Client) pollInterval() time.Duration {
	p := c.settings.PollingInterval
	if !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat) {
		return p
	}
	if d := time.Duration(c.offered.Load()); d > 0 {
		return d
	}
	if hb := c.settings.Heartbeat; hb > 0 {
		return min(p, hb)
	}
	return p
}

// isUnavailable: the server refused the message it answers, for now.
func isUnavailable(msg *protobufs.ServerToAgent) bool {
	return msg.GetErrorResponse().GetType() == protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable
}

// unavailableWait is how long to wait after the n-th UNAVAILABLE in a row:
// the server's retry_after, else exponential backoff.
func unavailableWait(er *protobufs.ServerErrorResponse, n int) time.Duration {
	if retry := time.Duration(er.GetRetryInfo().GetRetryAfterNanoseconds()); retry > 0 {
		return min(retry, maxRetryAfter)
	}
	return backoff(n)
}

// onServerError logs an error response. An UNAVAILABLE one is the
// transport's to act on: the WebSocket sender is told, and leaves the
// connection; HTTP polling sees it in the answer.
func (c *Client) onServerError(er *protobufs.ServerErrorResponse) {
	if er.GetType() == protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable {
		c.logger.Info("The OpAMP server is unavailable; disconnecting and retrying later",
			zap.Duration("retry_after", time.Duration(er.GetRetryInfo().GetRetryAfterNanoseconds())), zap.String("message", er.GetErrorMessage()))
		if !c.settings.HTTP {
			c.unavailable.Store(er)
			c.report.signal()
		}
		return
	}
	c.logger.Warn("The OpAMP server answered with an error",
		zap.String("type", er.GetType().String()), zap.String("message", er.GetErrorMessage()))
}
