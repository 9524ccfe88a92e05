package opampclient

import (
	"errors"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// KindRemoteConfigStatus: the message carried the remote config status.
const KindRemoteConfigStatus Kind = KindHeartbeat << 1

var (
	errRemoteStatusOff = errors.New("opampclient: the ReportsRemoteConfig capability is off")
	errNoRemoteStatus  = errors.New("opampclient: a remote config status is required")
)

// SetRemoteConfigStatus replaces the remote config status; it is sent if it
// changed, and again in every full state (every new connection), so the
// server always knows the outcome of the config it last sent.
func (c *Client) SetRemoteConfigStatus(s *protobufs.RemoteConfigStatus) error {
	if !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig) {
		return errRemoteStatusOff
	}
	if s == nil {
		return errNoRemoteStatus
	}
	replace(c.report, &c.report.remoteStatus, s, fRemoteConfigStatus)
	return nil
}

// acceptRemoteConfig passes a remote config on only when the agent
// advertises AcceptsRemoteConfig: a server cannot push one to an agent
// that did not opt in.
func (c *Client) acceptRemoteConfig(rc *protobufs.AgentRemoteConfig) *protobufs.AgentRemoteConfig {
	if !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig) {
		c.logger.Debug("Ignoring a remote config: the agent does not accept remote configuration")
		return nil
	}
	return rc
}

// remoteConfigStatusLocked adds the remote config status to m when it
// changed or m is a full state.
func (r *reportState) remoteConfigStatusLocked(m *protobufs.AgentToServer, o *outgoing, full bool) {
	if r.remoteStatus == nil || !r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig) {
		return
	}
	if full || r.version[fRemoteConfigStatus] != r.sent[fRemoteConfigStatus] {
		m.RemoteConfigStatus = r.remoteStatus
		o.kinds |= KindRemoteConfigStatus
	}
}
