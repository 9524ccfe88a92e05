// Package custommsg lets Collector components exchange OpAMP custom messages
// with the server through contrib's opampcustommessages interfaces, so that
// components written for contrib's opamp extension work unchanged.
package custommsg

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/utf8fix"
)

// Client is the part of the OpAMP client the registry needs. Keeping it
// this narrow lets tests use a fake and keeps the registry free of the
// client's lifecycle.
type Client interface {
	SetCustomCapabilities(*protobufs.CustomCapabilities) error
	SendCustomMessage(*protobufs.CustomMessage) (chan struct{}, error)
}

var _ opampcustommessages.CustomCapabilityRegistry = (*Registry)(nil)

// Registry tracks the custom capabilities registered by components, keeps
// the OpAMP client's advertised list in step with them and fans messages
// from the server out to the handlers.
//
// Components may register before the OpAMP client exists (extensions start
// in dependency order, not necessarily after the opamp extension), so the
// client is attached later and receives the list collected so far.
type Registry struct {
	logger *zap.Logger
	// utf8 repairs capabilities and message types that are not valid
	// UTF-8, which no OpAMP message can carry.
	utf8 *utf8fix.Warner

	// pushMu serialises capability pushes so that the last push to reach
	// the client always carries the latest list. It is taken before mu and
	// never while holding mu, so Dispatch never waits on the client.
	pushMu     sync.Mutex
	lastPushed []string // guarded by pushMu

	// mu guards client, handlers and every handler's closed flag. Dispatch
	// sends under the read lock and Unregister closes under the write lock,
	// which is what rules out a send on a closed channel.
	mu       sync.RWMutex
	client   Client
	handlers map[string][]*Handler // capability -> handlers, in registration order

	dropped atomic.Uint64

	// maxSize bounds the data of a custom message either way; 0: no limit.
	maxSize int
	// warnedTooLarge: the first oversized message from the server is a
	// warning, the rest debug lines (a hostile server must not flood logs).
	warnedTooLarge atomic.Bool
}

// Option configures a Registry.
type Option func(*Registry)

// WithMaxMessageSize refuses custom messages whose data exceeds n bytes,
// in both directions; n <= 0 means no limit.
func WithMaxMessageSize(n int) Option {
	return func(r *Registry) { r.maxSize = n }
}

// NewRegistry returns an empty registry with no client attached.
func NewRegistry(logger *zap.Logger, opts ...Option) *Registry {
	if logger == nil {
		logger = zap.NewNop()
	}
	r := &Registry{
		logger:   logger,
		utf8:     utf8fix.NewWarner(logger),
		handlers: make(map[string][]*Handler),
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Attach makes c the client used to advertise capabilities and send
// messages, and pushes the capabilities registered so far to it. It may be
// called before the client connects: the client then includes the list in
// its first message.
func (r *Registry) Attach(c Client) {
	r.pushMu.Lock()
	defer r.pushMu.Unlock()
	r.mu.Lock()
	r.client = c
	r.mu.Unlock()
	// A new client knows none of our capabilities.
	r.lastPushed = nil
	r.pushLocked()
}

// Detach forgets the client, on shutdown. Handlers stay registered; from
// now on their SendMessage returns ErrNotConnected until the next Attach.
func (r *Registry) Detach() {
	r.pushMu.Lock()
	defer r.pushMu.Unlock()
	r.mu.Lock()
	r.client = nil
	r.mu.Unlock()
	r.lastPushed = nil
}

// Register registers a handler for capability. Several handlers may
// register the same capability; each receives every message for it.
func (r *Registry) Register(capability string, opts ...opampcustommessages.CustomCapabilityRegisterOption) (opampcustommessages.CustomCapabilityHandler, error) {
	if capability == "" {
		return nil, fmt.Errorf("custom capability registration: %w", ErrEmptyCapability)
	}
	capability = r.utf8.Valid(fmt.Sprintf("custom capability %q", capability), capability)
	o := opampcustommessages.DefaultCustomCapabilityRegisterOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	if o.MaxQueuedMessages <= 0 {
		return nil, fmt.Errorf("custom capability %q: %w, got %d", capability, ErrInvalidQueueSize, o.MaxQueuedMessages)
	}

	h := &Handler{
		registry:   r,
		capability: capability,
		ch:         make(chan *protobufs.CustomMessage, o.MaxQueuedMessages),
	}
	r.mu.Lock()
	r.handlers[capability] = append(r.handlers[capability], h)
	r.mu.Unlock()

	// Push before returning so that SendMessage works right away: the client
	// refuses messages for capabilities it has not been told about.
	r.push()
	return h, nil
}

// Capabilities returns the registered capabilities, sorted, each once.
func (r *Registry) Capabilities() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.capabilitiesLocked()
}

// Dropped returns how many messages were dropped, over all handlers,
// because a handler's queue was full.
func (r *Registry) Dropped() uint64 {
	return r.dropped.Load()
}

// unregister removes h and closes its channel; it reports whether h was
// still registered, so that the channel is closed exactly once.
func (r *Registry) unregister(h *Handler) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h.closed {
		return false
	}
	h.closed = true
	list := r.handlers[h.capability]
	if i := slices.Index(list, h); i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	if len(list) == 0 {
		delete(r.handlers, h.capability)
	} else {
		r.handlers[h.capability] = list
	}
	close(h.ch)
	return true
}

// clientFor returns the client h may send through, checking under one
// lock that h is still registered and a client is attached.
func (r *Registry) clientFor(h *Handler) (Client, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	switch {
	case h.closed:
		return nil, ErrUnregistered
	case r.client == nil:
		return nil, ErrNotConnected
	}
	return r.client, nil
}

// capabilitiesLocked needs mu held (read or write).
func (r *Registry) capabilitiesLocked() []string {
	caps := make([]string, 0, len(r.handlers))
	for c := range r.handlers {
		caps = append(caps, c)
	}
	slices.Sort(caps)
	return caps
}

func (r *Registry) push() {
	r.pushMu.Lock()
	defer r.pushMu.Unlock()
	r.pushLocked()
}

// pushLocked sends the current list to the client if it differs from what
// the client last received. It needs pushMu held. The snapshot is taken
// under pushMu, so any change made after it triggers a later push.
func (r *Registry) pushLocked() {
	r.mu.RLock()
	c := r.client
	caps := r.capabilitiesLocked()
	r.mu.RUnlock()
	if c == nil || slices.Equal(caps, r.lastPushed) {
		return
	}
	if err := c.SetCustomCapabilities(&protobufs.CustomCapabilities{Capabilities: caps}); err != nil {
		r.logger.Warn("Failed to update custom capabilities", zap.Strings("capabilities", caps), zap.Error(err))
		return
	}
	r.lastPushed = caps
}
