// Package opampclient is the one place where the extension creates and drives
// an opamp-go client: it picks the transport, adapts logging, tracks the
// connection state and makes shutdown bounded and polite on both transports.
package opampclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opamp-go/client"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/transport"
)

// Handler receives what the server sends. Callbacks run on opamp-go's
// receiving goroutine and must not block for long.
type Handler struct {
	// OnConnected runs on every new connection (not on every HTTP poll),
	// before the connection's first message is sent: state that opamp-go
	// leaves out of that message can be queued here.
	OnConnected        func()
	OnMessage          func(ctx context.Context, msg *types.MessageData)
	OnCommand          func(ctx context.Context, cmd *protobufs.ServerToAgentCommand) error
	GetEffectiveConfig func(ctx context.Context) (*protobufs.EffectiveConfig, error)
}

// Settings describe one client.
type Settings struct {
	Logger *zap.Logger
	// HTTP selects plain-HTTP polling; otherwise WebSocket.
	HTTP            bool
	PollingInterval time.Duration
	// Start carries URL, headers, TLS, proxy, compression, instance uid and
	// heartbeat; its Callbacks are replaced by the ones built from Handler.
	Start        types.StartSettings
	Capabilities protobufs.AgentCapabilities
	Description  *protobufs.AgentDescription
	// Health is required when Capabilities include ReportsHealth, and
	// AvailableComponents when they include ReportsAvailableComponents:
	// opamp-go refuses to advertise what it cannot report.
	Health *protobufs.ComponentHealth
	// It is a function: the client keeps no copy (opamp-go keeps its own)
	// and builds it again for a resync after a reconnection.
	AvailableComponents func() *protobufs.AvailableComponents
	Handler             Handler
	// Observer receives connection events (own telemetry); may be nil.
	Observer Observer
	// ReconnectSpread delays every WebSocket reconnection attempt after a
	// lost connection by a random time up to this, so that a fleet does
	// not come back in the same second when its server restarts.
	ReconnectSpread time.Duration
}

// Client is a started OpAMP client.
type Client struct {
	c        client.OpAMPClient
	logger   *zap.Logger
	state    *connState
	settings Settings

	// connectedOnce is set by the first connection: every later dial is a
	// reconnection (to be spread) and every later connection a resync.
	connectedOnce atomic.Bool
	stopping      chan struct{}
	// holdUntil (unix nanoseconds) holds dials and requests: retry_after.
	holdUntil atomic.Int64
	stopOnce  sync.Once

	mu  sync.Mutex
	uid types.InstanceUid
}

// Start creates the client, loads the initial state into it and starts
// connecting in the background; it does not wait for the server.
func Start(ctx context.Context, s Settings) (*Client, error) {
	if s.Description == nil {
		return nil, errors.New("opampclient: an agent description is required")
	}
	if s.Observer == nil {
		s.Observer = nopObserver{}
	}
	state := &connState{logger: s.Logger, endpoint: transport.Redacted(s.Start.OpAMPServerURL), observer: s.Observer, httpPolling: s.HTTP}
	logger := zapLogger{logger: s.Logger, onError: state.noteDetail}
	var oc client.OpAMPClient
	if s.HTTP {
		hc := client.NewHTTP(logger)
		if s.PollingInterval > 0 {
			hc.SetPollingInterval(s.PollingInterval)
		}
		oc = hc
	} else {
		oc = client.NewWebSocket(logger)
	}
	c := &Client{
		c:        oc,
		logger:   s.Logger,
		state:    state,
		settings: s,
		stopping: make(chan struct{}),
		uid:      s.Start.InstanceUid,
	}
	if err := oc.SetAgentDescription(s.Description); err != nil {
		return nil, fmt.Errorf("set agent description: %w", err)
	}
	if s.Health != nil {
		if err := oc.SetHealth(s.Health); err != nil {
			return nil, fmt.Errorf("set health: %w", err)
		}
	}
	if s.AvailableComponents != nil {
		if err := oc.SetAvailableComponents(s.AvailableComponents()); err != nil {
			return nil, fmt.Errorf("set available components: %w", err)
		}
	}
	caps := s.Capabilities
	if err := oc.SetCapabilities(&caps); err != nil {
		return nil, fmt.Errorf("set capabilities: %w", err)
	}
	st := s.Start
	st.Callbacks = c.callbacks()
	st.HeaderFunc = c.gateDials(st.HeaderFunc)
	if err := oc.Start(ctx, st); err != nil {
		return nil, fmt.Errorf("start OpAMP client: %w", err)
	}
	return c, nil
}

func (c *Client) callbacks() types.Callbacks {
	h := c.settings.Handler
	return types.Callbacks{
		OnConnect: func(ctx context.Context) {
			// opamp-go calls OnConnect once per WebSocket connection but
			// on every successful HTTP poll; for HTTP only a recovery
			// after failures is a new connection.
			if !c.state.onConnect() {
				return
			}
			// opamp-go's full first message goes out once: on WebSocket on
			// the first connection, on HTTP in the first request, which a
			// server may have refused (and opamp-go then drops it).
			if c.connectedOnce.Swap(true) || (c.settings.HTTP && c.state.hasFailed()) {
				c.resync(ctx)
			}
			if h.OnConnected != nil {
				h.OnConnected()
			}
		},
		OnConnectFailed: func(_ context.Context, err error) { c.state.onConnectFailed(err) },
		OnError:         func(_ context.Context, er *protobufs.ServerErrorResponse) { c.onServerError(er) },
		OnMessage: func(ctx context.Context, msg *types.MessageData) {
			c.settings.Observer.MessageReceived()
			if id := msg.AgentIdentification; id != nil && len(id.NewInstanceUid) == 16 {
				c.mu.Lock()
				c.uid = types.InstanceUid(id.NewInstanceUid)
				c.mu.Unlock()
			}
			if h.OnMessage != nil {
				h.OnMessage(ctx, msg)
			}
		},
		OnCommand: func(ctx context.Context, cmd *protobufs.ServerToAgentCommand) error {
			if h.OnCommand == nil {
				return nil
			}
			return h.OnCommand(ctx, cmd)
		},
		GetEffectiveConfig: func(ctx context.Context) (*protobufs.EffectiveConfig, error) {
			if h.GetEffectiveConfig == nil {
				return nil, nil
			}
			return h.GetEffectiveConfig(ctx)
		},
	}
}

// Stop says goodbye (AgentDisconnect) and stops every goroutine of the
// client, giving up when ctx ends.
func (c *Client) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { close(c.stopping) })
	err := c.c.Stop(ctx)
	c.state.flush()
	if c.settings.HTTP {
		// opamp-go's HTTP transport stops without a last message; send it
		// ourselves so the server can forget this agent at once.
		if derr := c.sendHTTPDisconnect(ctx); derr != nil {
			c.logger.Debug("Could not send AgentDisconnect", zap.Error(derr))
		}
	}
	return err
}

// Connected reports whether the last connection attempt or poll succeeded.
func (c *Client) Connected() bool { return c.state.isConnected() }

// InstanceUID is the current instance uid (the server may have replaced it).
func (c *Client) InstanceUID() types.InstanceUid {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uid
}

// SetAgentDescription replaces the description and sends it.
func (c *Client) SetAgentDescription(d *protobufs.AgentDescription) error {
	return c.c.SetAgentDescription(d)
}

// SetHealth sends a new health tree.
func (c *Client) SetHealth(h *protobufs.ComponentHealth) error { return c.c.SetHealth(h) }

// UpdateEffectiveConfig asks the client to fetch and send the effective config.
func (c *Client) UpdateEffectiveConfig(ctx context.Context) error {
	return c.c.UpdateEffectiveConfig(ctx)
}

// AgentDescription returns a copy of the description the client reports.
func (c *Client) AgentDescription() *protobufs.AgentDescription {
	return c.c.AgentDescription()
}

// SetCustomCapabilities replaces the advertised custom capabilities.
func (c *Client) SetCustomCapabilities(cc *protobufs.CustomCapabilities) error {
	return c.c.SetCustomCapabilities(cc)
}

// SendCustomMessage queues a custom message; see opamp-go for pending semantics.
func (c *Client) SendCustomMessage(m *protobufs.CustomMessage) (chan struct{}, error) {
	return c.c.SendCustomMessage(m)
}
