package custommsg

import (
	"fmt"
	"sync/atomic"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"

	"github.com/opampext/opampextension/internal/utf8fix"
)

var _ opampcustommessages.CustomCapabilityHandler = (*Handler)(nil)

// Handler is one registration of a custom capability. Components see it as
// an opampcustommessages.CustomCapabilityHandler.
type Handler struct {
	registry   *Registry
	capability string
	ch         chan *protobufs.CustomMessage
	closed     bool // guarded by registry.mu
	dropped    atomic.Uint64
}

// Message returns the channel of messages from the server for this
// capability. It is closed once, by Unregister.
func (h *Handler) Message() <-chan *protobufs.CustomMessage {
	return h.ch
}

// SendMessage sends a custom message for this capability to the server.
// The client holds one pending custom message at a time (as opamp-go's
// does, which contrib's interface follows): when another is still pending
// it returns types.ErrCustomMessagePending together with a channel that
// closes once that message is sent, and both are passed through so the
// caller can wait and retry.
func (h *Handler) SendMessage(messageType string, message []byte) (chan struct{}, error) {
	if limit := h.registry.maxSize; limit > 0 && len(message) > limit {
		return nil, fmt.Errorf("custom capability %q: %w: %d bytes, limit %d", h.capability, ErrMessageTooLarge, len(message), limit)
	}
	c, err := h.registry.clientFor(h)
	if err != nil {
		return nil, fmt.Errorf("custom capability %q: %w", h.capability, err)
	}
	if _, changed := utf8fix.String(messageType); changed {
		messageType = h.registry.utf8.Valid(fmt.Sprintf("type of custom messages for %q", h.capability), messageType)
	}
	return c.SendCustomMessage(&protobufs.CustomMessage{
		Capability: h.capability,
		Type:       messageType,
		Data:       message,
	})
}

// Unregister removes the handler and closes its Message channel. The
// capability stays advertised while other handlers still hold it. Calling
// it again does nothing.
func (h *Handler) Unregister() {
	if h.registry.unregister(h) {
		h.registry.push()
	}
}

// Dropped returns how many messages this handler missed because its queue
// was full.
func (h *Handler) Dropped() uint64 {
	return h.dropped.Load()
}
