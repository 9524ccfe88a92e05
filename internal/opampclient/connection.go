package opampclient

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// Connection is where and how the client connects to its server: the part
// of the settings that a server's connection-settings offer may change
// while the client runs (see TryConnection).
type Connection struct {
	// URL is the server's endpoint: ws or wss, or http or https with HTTP.
	URL string
	// Header is sent with every dial and request (Settings.HeaderFunc,
	// an auth extension, may still add to it).
	Header http.Header
	TLS    *tls.Config
	// ProxyURL, when set, replaces the environment's proxy settings;
	// ProxyHeader goes in its CONNECT request.
	ProxyURL    string
	ProxyHeader http.Header
}

// Connection is the Connection the settings describe.
func (s *Settings) Connection() Connection {
	return Connection{URL: s.URL, Header: s.Header, TLS: s.TLS, ProxyURL: s.ProxyURL, ProxyHeader: s.ProxyHeader}
}

// SetConnection makes the settings describe cn (a connection restored
// from an earlier offer, say).
func (s *Settings) SetConnection(cn Connection) {
	s.URL, s.Header, s.TLS, s.ProxyURL, s.ProxyHeader = cn.URL, cn.Header, cn.TLS, cn.ProxyURL, cn.ProxyHeader
}

// Connection returns the connection in use (the settings' own until an
// offer was switched to). Callers must not modify what it holds.
func (c *Client) Connection() Connection { return *c.current.Load() }

// KindConnectionSettingsStatus: the message carried the connection settings
// status.
const KindConnectionSettingsStatus Kind = KindRemoteConfigStatus << 1

var (
	errConnStatusOff = errors.New("opampclient: the ReportsConnectionSettingsStatus capability is off")
	errNoConnStatus  = errors.New("opampclient: a connection settings status is required")
	// ErrTransportChange: an offered endpoint would move the client
	// between WebSocket and HTTP polling, which a running client cannot.
	ErrTransportChange = errors.New("the endpoint's scheme would change the transport (WebSocket or HTTP polling)")
	// ErrEndpoint: an endpoint that is not an absolute ws, wss, http or
	// https URL.
	ErrEndpoint = errors.New("the endpoint is not an absolute ws, wss, http or https URL")
)

// CheckEndpoint says whether endpoint can serve a client on the given
// transport (HTTP polling when httpPolling).
func CheckEndpoint(endpoint string, httpPolling bool) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return ErrEndpoint
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "wss":
		if httpPolling {
			return ErrTransportChange
		}
	case "http", "https":
		if !httpPolling {
			return ErrTransportChange
		}
	default:
		return ErrEndpoint
	}
	return nil
}

// SetConnectionSettingsStatus replaces the connection settings status; it
// is sent if it changed, and again in every full state (every new
// connection), so the server always knows the outcome of its last offer.
func (c *Client) SetConnectionSettingsStatus(s *protobufs.ConnectionSettingsStatus) error {
	if !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus) {
		return errConnStatusOff
	}
	if s == nil {
		return errNoConnStatus
	}
	replace(c.report, &c.report.connStatus, s, fConnStatus)
	return nil
}

// connStatusLocked adds the connection settings status to m when it
// changed or m is a full state.
func (r *reportState) connStatusLocked(m *protobufs.AgentToServer, o *outgoing, full bool) {
	if r.connStatus == nil || !r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus) {
		return
	}
	if full || r.version[fConnStatus] != r.sent[fConnStatus] {
		m.ConnectionSettingsStatus = r.connStatus
		o.kinds |= KindConnectionSettingsStatus
	}
}

// acceptOffers keeps of the server's offers only the parts the agent
// advertised it takes: the OpAMP settings with
// AcceptsOpAMPConnectionSettings, each own-telemetry destination with its
// Reports capability. It returns nil when nothing is left.
func (r *reportState) acceptOffers(cs *protobufs.ConnectionSettingsOffers) *protobufs.ConnectionSettingsOffers {
	out := &protobufs.ConnectionSettingsOffers{Hash: cs.GetHash()}
	keep := false
	if cs.GetOpamp() != nil && r.has(protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings) {
		out.Opamp, keep = cs.GetOpamp(), true
	}
	if cs.GetOwnMetrics() != nil && r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnMetrics) {
		out.OwnMetrics, keep = cs.GetOwnMetrics(), true
	}
	if cs.GetOwnLogs() != nil && r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnLogs) {
		out.OwnLogs, keep = cs.GetOwnLogs(), true
	}
	if cs.GetOwnTraces() != nil && r.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnTraces) {
		out.OwnTraces, keep = cs.GetOwnTraces(), true
	}
	if !keep {
		return nil
	}
	return out
}

// KindConnectionSettingsRequest: the message carried a connection settings
// request (a CSR).
const KindConnectionSettingsRequest Kind = KindConnectionSettingsStatus << 1

// errNotAccepting: RequestConnectionSettings without the capability to
// take the answer.
var errNotAccepting = errors.New("opampclient: the AcceptsOpAMPConnectionSettings capability is off")

// RequestConnectionSettings queues req (a certificate signing request) for
// the server. It goes once, in the next message, when the server has
// announced AcceptsConnectionSettingsRequest on the current connection;
// until then it waits. A new request replaces one not yet sent.
func (c *Client) RequestConnectionSettings(req *protobufs.ConnectionSettingsRequest) error {
	if !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings) {
		return errNotAccepting
	}
	r := c.report
	r.mu.Lock()
	defer r.mu.Unlock()
	r.csr = req
	if r.serverTakesRequestsLocked() {
		r.signal()
	}
	return nil
}

// ServerAcceptsConnectionSettingsRequest: the server announced, on the
// current connection, that it takes connection settings requests.
func (c *Client) ServerAcceptsConnectionSettingsRequest() bool {
	c.report.mu.Lock()
	defer c.report.mu.Unlock()
	return c.report.serverTakesRequestsLocked()
}

func (r *reportState) serverTakesRequestsLocked() bool {
	return r.serverCaps&uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsConnectionSettingsRequest) != 0
}

// csrLocked adds a queued connection settings request to m when the server
// takes them.
func (r *reportState) csrLocked(m *protobufs.AgentToServer, o *outgoing) {
	if r.csr == nil || !r.serverTakesRequestsLocked() {
		return
	}
	m.ConnectionSettingsRequest = r.csr
	o.csr = r.csr
	o.kinds |= KindConnectionSettingsRequest
}
