package custommsg

import (
	"slices"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
)

// Dispatch delivers a message from the server to every handler registered
// for its capability. It runs on the OpAMP client's receive goroutine, so
// it never blocks: a handler whose queue is full misses the message, which
// is counted and logged at debug level.
func (r *Registry) Dispatch(msg *protobufs.CustomMessage) {
	if msg == nil {
		return
	}
	if r.maxSize > 0 && len(msg.GetData()) > r.maxSize {
		level := zap.DebugLevel
		if !r.warnedTooLarge.Swap(true) {
			level = zap.WarnLevel
		}
		r.logger.Log(level, "Dropping a custom message from the server larger than the limit (later ones are logged at debug level)",
			zap.String("capability", msg.GetCapability()), zap.String("type", msg.GetType()),
			zap.Int("bytes", len(msg.GetData())), zap.Int("limit", r.maxSize))
		r.dropped.Add(1)
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	handlers := r.handlers[msg.GetCapability()]
	if len(handlers) == 0 {
		r.logger.Debug("Ignoring custom message for unregistered capability",
			zap.String("capability", msg.GetCapability()),
			zap.String("type", msg.GetType()))
		return
	}
	for i, h := range handlers {
		m := msg
		if i > 0 {
			// Each handler gets its own copy, so one component modifying a
			// message cannot affect another.
			m = cloneMessage(msg)
		}
		select {
		case h.ch <- m:
		default:
			n := h.dropped.Add(1)
			r.dropped.Add(1)
			r.logger.Debug("Dropping custom message: handler queue is full",
				zap.String("capability", msg.GetCapability()),
				zap.String("type", msg.GetType()),
				zap.Int("queue_size", cap(h.ch)),
				zap.Uint64("dropped", n))
		}
	}
}

func cloneMessage(m *protobufs.CustomMessage) *protobufs.CustomMessage {
	return &protobufs.CustomMessage{
		Capability: m.GetCapability(),
		Type:       m.GetType(),
		Data:       slices.Clone(m.GetData()),
	}
}
