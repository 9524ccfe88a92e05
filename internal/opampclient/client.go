// Package opampclient is the extension's OpAMP client: the one place that
// speaks the protocol. It keeps what the agent reports and sends only what
// the server lacks (all of it on every new connection), over WebSocket or
// HTTP polling, through network connections it opens and meters itself:
// backoff with jitter, a spread of redials, the server's retry_after and
// Retry-After, a size limit on every inbound message, and a bounded,
// polite stop on both transports.
//
// It uses opamp-go for the protocol's messages and types only: opamp-go's
// client offers no hook into its connections (needed for byte counts and
// the inbound size limit) and no way to resend the full state on
// reconnection.
package opampclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/utf8fix"
)

// Defaults for settings left zero.
const (
	DefaultPollingInterval = 30 * time.Second
	// DefaultMaxMessageSize is the specification's recommended 64 MiB.
	DefaultMaxMessageSize = 64 << 20
	// stopGrace bounds Stop: the goodbye gets this long, or less when
	// Stop's context ends sooner. Core stops extensions with a context
	// that has no deadline, on every shutdown and every reload.
	stopGrace = 3 * time.Second
)

// Handler receives what the server sends. Callbacks run on the client's
// receiving goroutine and must not block for long.
type Handler struct {
	// OnConnected runs on every new connection (on HTTP: the first
	// successful poll, and the first after failures).
	OnConnected func()
	// OnMessage receives the parts of a server message that the agent
	// acts on: a new instance uid, the server's custom capabilities, a
	// custom message for a capability the agent advertises.
	OnMessage func(ctx context.Context, msg *types.MessageData)
	OnCommand func(ctx context.Context, cmd *protobufs.ServerToAgentCommand) error
	// OnConnectionSettings receives the server's connection-settings
	// offers, reduced to the parts the agent's capabilities accept (the
	// heartbeat interval is the client's own to apply, and stays in).
	OnConnectionSettings func(ctx context.Context, offers *protobufs.ConnectionSettingsOffers)
	// OnConnectionReverted says the client went back from a connection
	// it had switched to (TryConnection, or Settings.Fallback's partner)
	// because that one kept failing before it was proven.
	OnConnectionReverted func(from, to Connection)
	// GetEffectiveConfig is asked once, before the first message, when the
	// agent reports its effective config and none was given yet.
	GetEffectiveConfig func(ctx context.Context) (*protobufs.EffectiveConfig, error)
}

// Settings describe one client.
type Settings struct {
	Logger *zap.Logger
	// URL is the server's endpoint: ws or wss, or http or https with HTTP.
	URL string
	// HTTP selects plain-HTTP polling; otherwise WebSocket.
	HTTP bool
	// Header is sent with every dial and request; HeaderFunc, when set,
	// may add to it right before each (an auth extension), told the URL
	// the dial or request goes to: the connection's in use, which a
	// server's offer may have moved from Settings.URL. ctx ends when
	// the dial or request is abandoned, the client's stop included:
	// HeaderFunc must return soon after, or it holds Stop.
	Header     http.Header
	HeaderFunc func(ctx context.Context, url string, h http.Header) http.Header
	TLS        *tls.Config
	// Fallback, when set, is where the client goes when the first
	// attempts on the connection above fail before one lasts (settings a
	// server offered and a restart kept, with the local file's as their
	// fallback); see TryConnection.
	Fallback *Connection
	// ProxyURL, when set, replaces the environment's proxy settings;
	// ProxyHeader goes in its CONNECT request.
	ProxyURL    string
	ProxyHeader http.Header
	// Compression: permessage-deflate on WebSocket, gzip request bodies on
	// HTTP.
	Compression bool
	InstanceUID types.InstanceUid
	// Heartbeat is the WebSocket heartbeat interval (a message when nothing
	// else was sent for that long); zero sends none. With ReportsHeartbeat
	// the server's offered interval replaces it.
	Heartbeat time.Duration
	// PollingInterval is the HTTP polling interval (DefaultPollingInterval
	// when zero).
	PollingInterval time.Duration
	// MaxMessageSize refuses (and discards unread) any server message
	// larger than this many bytes (DefaultMaxMessageSize when zero): an
	// HTTP answer fails its poll, a WebSocket message closes the
	// connection with 1009.
	MaxMessageSize int
	// MaxSendSize bounds every message sent (DefaultMaxSendSize when
	// zero): reports that do not fit are left out, see DiscardObserver.
	MaxSendSize int
	// ReconnectSpread delays the first WebSocket redial after a lost
	// connection by a random time up to this.
	ReconnectSpread time.Duration

	Capabilities protobufs.AgentCapabilities
	Description  *protobufs.AgentDescription
	// Health is required when Capabilities include ReportsHealth, and
	// AvailableComponents when they include ReportsAvailableComponents.
	Health              *protobufs.ComponentHealth
	AvailableComponents *protobufs.AvailableComponents
	Handler             Handler
	// Observer receives the client's events (own telemetry); may be nil.
	Observer Observer

	// KeepAliveIdle and PongWait time the WebSocket keep-alive: a ping
	// after KeepAliveIdle without a frame from the server, and a
	// reconnection when PongWait passes without one (30 s and 15 s when
	// zero).
	KeepAliveIdle, PongWait time.Duration
}

// Client is a started OpAMP client. It keeps the messages it is given
// (settings and setters) without copying them: callers must not modify a
// message after handing it over.
type Client struct {
	settings Settings
	logger   *zap.Logger
	// current is the connection in use: the settings' own, or an offer's
	// once TryConnection switched to it.
	current atomic.Pointer[Connection]
	state   *connState
	report  *reportState
	dialer  *dialer
	gate    gate
	// heartbeat is the current WebSocket heartbeat interval (nanoseconds);
	// offered is the interval the server offered (0: none).
	heartbeat atomic.Int64
	offered   atomic.Int64
	limits    sendLimits
	// unavailable holds a WebSocket UNAVAILABLE answer from the reading
	// goroutine for the writing one (woken through report.wake), which
	// leaves the connection. A pointer, not a channel: a fleet of idle
	// instances pays nothing for it.
	unavailable atomic.Pointer[protobufs.ServerErrorResponse]

	// switching holds the state of TryConnection and fallbacks.
	switching
	// switched (capacity 1) wakes the run loop for a connection that
	// TryConnection handed over.
	switched chan struct{}
	// firstSent is closed by the first message written (FirstSent).
	firstSent     chan struct{}
	firstSentOnce sync.Once

	stopping     chan struct{}
	stopOnce     sync.Once
	stopDeadline atomic.Int64 // unix nanoseconds, set before stopping closes
	done         chan struct{}
	cancel       context.CancelFunc

	// encodeLog remembers the fields whose encoding needed a repair, so a
	// state that keeps failing logs once per field, not once per message.
	encodeLog utf8fix.Once

	connMu sync.Mutex
	conn   io.Closer // the open WebSocket connection, closed when Stop gives up
}

var (
	errNoDescription = errors.New("opampclient: an agent description is required")
	errNoHealth      = errors.New("opampclient: ReportsHealth needs an initial health")
	errNoComponents  = errors.New("opampclient: ReportsAvailableComponents needs the available components")
	errHealthOff     = errors.New("opampclient: the ReportsHealth capability is off")
)

// Start validates the settings, loads the initial state and starts
// connecting in the background; it does not wait for the server.
func Start(_ context.Context, s Settings) (*Client, error) {
	if s.Description == nil {
		return nil, errNoDescription
	}
	if s.Capabilities&protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth != 0 && s.Health == nil {
		return nil, errNoHealth
	}
	if s.Capabilities&protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents != 0 && s.AvailableComponents == nil {
		return nil, errNoComponents
	}
	if s.Observer == nil {
		s.Observer = nopObserver{}
	}
	if s.Logger == nil {
		s.Logger = zap.NewNop()
	}
	if s.PollingInterval <= 0 {
		s.PollingInterval = DefaultPollingInterval
	}
	if s.MaxMessageSize <= 0 {
		s.MaxMessageSize = DefaultMaxMessageSize
	}
	if s.MaxSendSize <= 0 {
		s.MaxSendSize = DefaultMaxSendSize
	}
	if s.KeepAliveIdle <= 0 {
		s.KeepAliveIdle = keepAliveIdle
	}
	if s.PongWait <= 0 {
		s.PongWait = pongWait
	}
	s.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus
	c := &Client{
		settings:  s,
		logger:    s.Logger,
		state:     &connState{logger: s.Logger, endpoint: redacted(s.URL), observer: s.Observer},
		report:    newReportState(s.InstanceUID, s.Capabilities),
		dialer:    newDialer(s.Observer),
		stopping:  make(chan struct{}),
		done:      make(chan struct{}),
		switched:  make(chan struct{}, 1),
		firstSent: make(chan struct{}),
	}
	c.limits.configured = s.MaxSendSize
	cn := s.Connection()
	c.current.Store(&cn)
	c.previous = s.Fallback
	c.gate.stop = c.stopping
	c.gate.kick = c.switched
	c.heartbeat.Store(int64(s.Heartbeat))
	c.report.setDescription(s.Description)
	c.report.setHealth(s.Health)                  // nil: not reported
	c.report.setComponents(s.AvailableComponents) // nil: not reported
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	if s.HTTP {
		go c.runHTTP(ctx)
	} else {
		go c.runWS(ctx)
	}
	return c, nil
}

// Stop says goodbye (AgentDisconnect) and stops every goroutine of the
// client, within stopGrace or ctx's deadline, whichever comes first. When
// that bound passes or ctx ends, it cuts the connection: that ends a write
// blocked on a server that stopped reading, which would otherwise wait out
// writeTimeout. It returns ctx's error when ctx ended, else nil: a goodbye
// cut short by the bound is no failure of the caller's (core makes the
// Collector exit non-zero for any).
func (c *Client) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		deadline := time.Now().Add(stopGrace)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		c.stopDeadline.Store(deadline.UnixNano())
		close(c.stopping)
		// Dials, polls and header computations in flight end now; the
		// goodbye has its own deadline.
		c.cancel()
	})
	defer c.state.onStopped()
	bound := time.NewTimer(time.Until(c.goodbyeDeadline()))
	defer bound.Stop()
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
	case <-bound.C:
		c.logger.Debug("The goodbye to the OpAMP server did not finish within the stop bound; closing the connection")
	}
	c.closeConn()
	<-c.done
	return ctxErr(ctx)
}

// ctxErr is ctx's error, also once its deadline has passed by the clock
// but its own timer has not fired yet: the stop bound's timer, set for the
// same instant, may fire first.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// redacted is the endpoint fit for a log line: userinfo hidden.
func redacted(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// goodbyeDeadline is when the goodbye must be over.
func (c *Client) goodbyeDeadline() time.Time {
	return time.Unix(0, c.stopDeadline.Load())
}

func (c *Client) setConn(conn io.Closer) {
	c.connMu.Lock()
	c.conn = conn
	c.connMu.Unlock()
}

func (c *Client) closeConn() {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

func (c *Client) isStopping() bool {
	select {
	case <-c.stopping:
		return true
	default:
		return false
	}
}

// headersFor builds the headers of one dial or request on conn to target:
// conn.URL, or where a redirect of it pointed. Credentials among conn's
// static headers go only to conn's own host and port; HeaderFunc (an auth
// extension) is asked again for each target, so it signs for the server
// actually reached. When ctx ends while HeaderFunc runs, the attempt is
// abandoned: its headers may lack what HeaderFunc could not finish.
func (c *Client) headersFor(ctx context.Context, conn *Connection, target string) (http.Header, error) {
	h := conn.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if target != conn.URL && !sameOrigin(conn.URL, target) {
		dropCredentials(h)
	}
	if c.settings.HeaderFunc != nil {
		h = c.settings.HeaderFunc(ctx, target, h)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("computing the headers: %w", err)
		}
	}
	return h, nil
}

// loadEffectiveConfig asks the handler for the effective config before the
// first message, so that message carries it.
func (c *Client) loadEffectiveConfig(ctx context.Context) {
	get := c.settings.Handler.GetEffectiveConfig
	if get == nil || !c.report.has(protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig) || c.report.hasEffectiveConfig() {
		return
	}
	ec, err := get(ctx)
	if err != nil {
		c.logger.Debug("Cannot get the effective config", zap.Error(err))
		return
	}
	c.report.setEffectiveConfig(ec)
}

// FirstSent is closed once the client's first message has been written
// to a server (the full state), for a caller that wants it out before
// what it does next.
func (c *Client) FirstSent() <-chan struct{} { return c.firstSent }

// sent records that a message went out.
func (c *Client) sent() { c.firstSentOnce.Do(func() { close(c.firstSent) }) }

// onConnected runs once per new connection.
func (c *Client) onConnected() {
	if h := c.settings.Handler.OnConnected; h != nil {
		h()
	}
}
