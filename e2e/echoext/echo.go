package echoext

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"
)

// echo answers every custom message of its capability with the same data.
type echo struct {
	cfg    *Config
	logger *zap.Logger

	handler opampcustommessages.CustomCapabilityHandler
	done    chan struct{} // closed by Shutdown to stop the loop
	wg      sync.WaitGroup
}

var (
	_ extension.Extension             = (*echo)(nil)
	_ extensioncapabilities.Dependent = (*echo)(nil)
)

func newEcho(cfg *Config, logger *zap.Logger) *echo {
	return &echo{cfg: cfg, logger: logger}
}

// Dependencies makes the Collector start the opamp extension first, so the
// registry works even with an implementation that needs to be started.
func (e *echo) Dependencies() []component.ID {
	return []component.ID{e.cfg.OpAMPExtension}
}

func (e *echo) Start(_ context.Context, host component.Host) error {
	ext, ok := host.GetExtensions()[e.cfg.OpAMPExtension]
	if !ok {
		return fmt.Errorf("opampextension: extension %q is not configured", e.cfg.OpAMPExtension)
	}
	registry, ok := ext.(opampcustommessages.CustomCapabilityRegistry)
	if !ok {
		return fmt.Errorf("opampextension: extension %q is not a custom capability registry", e.cfg.OpAMPExtension)
	}
	h, err := registry.Register(Capability)
	if err != nil {
		return fmt.Errorf("register custom capability %q: %w", Capability, err)
	}
	e.handler = h
	e.done = make(chan struct{})
	e.wg.Add(1)
	go e.loop(h, e.done)
	return nil
}

// Shutdown stops the loop before unregistering, so that no reply is sent
// through a handler that is gone. Safe without Start.
func (e *echo) Shutdown(context.Context) error {
	if e.handler == nil {
		return nil
	}
	close(e.done)
	e.wg.Wait()
	e.handler.Unregister()
	e.handler = nil
	return nil
}

func (e *echo) loop(h opampcustommessages.CustomCapabilityHandler, done <-chan struct{}) {
	defer e.wg.Done()
	for {
		select {
		case <-done:
			return
		case msg, ok := <-h.Message():
			if !ok {
				return
			}
			if err := e.reply(h, msg, done); err != nil {
				e.logger.Warn("Cannot echo a custom message", zap.String("type", msg.GetType()), zap.Error(err))
			}
		}
	}
}

// reply sends the echo, waiting while another custom message is pending
// (opamp-go sends one at a time).
func (e *echo) reply(h opampcustommessages.CustomCapabilityHandler, msg *protobufs.CustomMessage, done <-chan struct{}) error {
	for {
		pending, err := h.SendMessage(ReplyType, msg.GetData())
		if !errors.Is(err, types.ErrCustomMessagePending) {
			return err
		}
		select {
		case <-pending:
		case <-done:
			return errors.New("shutting down")
		}
	}
}
