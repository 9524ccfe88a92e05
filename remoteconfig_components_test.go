package opampextension

import (
	"context"
	"errors"
	"net"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
)

// Test receivers for remote config: "listen" holds a TCP port (so a port
// in use fails its start, as a real receiver's does), and "broken" starts
// but reports an error that never clears.

var (
	listenType = component.MustNewType("listen")
	brokenType = component.MustNewType("broken")
	errBroken  = errors.New("broken on purpose")
)

type listenConfig struct {
	Endpoint string `mapstructure:"endpoint"`
}

func newListenFactory() receiver.Factory {
	return receiver.NewFactory(listenType,
		func() component.Config { return &listenConfig{Endpoint: "127.0.0.1:0"} },
		receiver.WithTraces(func(_ context.Context, _ receiver.Settings, cfg component.Config, _ consumer.Traces) (receiver.Traces, error) {
			return &listenReceiver{endpoint: cfg.(*listenConfig).Endpoint}, nil
		}, component.StabilityLevelDevelopment))
}

type listenReceiver struct {
	endpoint string
	ln       net.Listener
}

func (r *listenReceiver) Start(context.Context, component.Host) error {
	ln, err := net.Listen("tcp", r.endpoint)
	if err != nil {
		return err
	}
	r.ln = ln
	return nil
}

func (r *listenReceiver) Shutdown(context.Context) error {
	if r.ln != nil {
		return r.ln.Close()
	}
	return nil
}

type brokenConfig struct{}

func newBrokenFactory() receiver.Factory {
	return receiver.NewFactory(brokenType,
		func() component.Config { return &brokenConfig{} },
		receiver.WithTraces(func(context.Context, receiver.Settings, component.Config, consumer.Traces) (receiver.Traces, error) {
			return brokenReceiver{}, nil
		}, component.StabilityLevelDevelopment))
}

type brokenReceiver struct{}

func (brokenReceiver) Start(_ context.Context, host component.Host) error {
	componentstatus.ReportStatus(host, componentstatus.NewRecoverableErrorEvent(errBroken))
	return nil
}

func (brokenReceiver) Shutdown(context.Context) error { return nil }
