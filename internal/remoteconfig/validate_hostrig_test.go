package remoteconfig

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
)

// The host validator's tests run a real Collector (otelcol, core's nop
// factories, core's telemetry factory) whose extension "hostcap" keeps the
// component.Host its Start receives: core's own service host, as the
// opamp extension gets it. Beside the nops, the receiver "check" has a
// config with rules of its own and core's configtls in it, supports traces
// and metrics only, and counts what it creates and shuts down.

var (
	checkType   = component.MustNewType("check")
	hostcapType = component.MustNewType("hostcap")
)

// errCheckEndpoint: the check receiver's own rule.
var errCheckEndpoint = errors.New("endpoint must be host:port")

type checkRecvConfig struct {
	Endpoint string                  `mapstructure:"endpoint"`
	TLS      *configtls.ServerConfig `mapstructure:"tls"`
}

func (c *checkRecvConfig) Validate() error {
	if c.Endpoint == "panic" {
		panic("check receiver: told to panic")
	}
	if !strings.Contains(c.Endpoint, ":") {
		return errCheckEndpoint
	}
	return nil
}

// checkCounts counts the check receivers created and shut down.
type checkCounts struct{ created, shutdown atomic.Int32 }

type checkReceiver struct{ counts *checkCounts }

func (checkReceiver) Start(context.Context, component.Host) error { return nil }

func (r checkReceiver) Shutdown(context.Context) error {
	r.counts.shutdown.Add(1)
	return nil
}

func checkFactory(counts *checkCounts) receiver.Factory {
	create := func() checkReceiver {
		counts.created.Add(1)
		return checkReceiver{counts: counts}
	}
	return receiver.NewFactory(checkType,
		func() component.Config { return &checkRecvConfig{Endpoint: "localhost:0"} },
		receiver.WithTraces(func(context.Context, receiver.Settings, component.Config, consumer.Traces) (receiver.Traces, error) {
			return create(), nil
		}, component.StabilityLevelDevelopment),
		receiver.WithMetrics(func(context.Context, receiver.Settings, component.Config, consumer.Metrics) (receiver.Metrics, error) {
			return create(), nil
		}, component.StabilityLevelDevelopment))
}

// hostRig is a running Collector and the host its extension was given.
type hostRig struct {
	counts checkCounts
	host   chan component.Host
}

func (r *hostRig) factories() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap(receivertest.NewNopFactory(), checkFactory(&r.counts)); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](processortest.NewNopFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](exportertest.NewNopFactory()); err != nil {
		return f, err
	}
	if f.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](connectortest.NewNopFactory()); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap(r.hostcapFactory()); err != nil {
		return f, err
	}
	f.ReceiverModules = map[component.Type]string{checkType: "example.com/check v0.0.1", component.MustNewType("nop"): "example.com/nop v0.0.1"}
	f.Telemetry = otelconftelemetry.NewFactory()
	return f, nil
}

func (r *hostRig) hostcapFactory() extension.Factory {
	return extension.NewFactory(hostcapType,
		func() component.Config { return &struct{}{} },
		func(context.Context, extension.Settings, component.Config) (extension.Extension, error) {
			return hostcapExt{r}, nil
		}, component.StabilityLevelDevelopment)
}

type hostcapExt struct{ rig *hostRig }

func (e hostcapExt) Start(_ context.Context, host component.Host) error {
	select {
	case e.rig.host <- host:
	default:
	}
	return nil
}

func (hostcapExt) Shutdown(context.Context) error { return nil }

func (r *hostRig) collector(yaml string) (*otelcol.Collector, error) {
	return otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol-test", Version: "0.0.1"},
		Factories: r.factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs: []string{yamlScheme + ":"}, ProviderFactories: []confmap.ProviderFactory{yamlBytes(yaml).factory()},
		}},
		DisableGracefulShutdown: true,
		SkipSettingGRPCLogger:   true,
	})
}

// dryRun is what the distro's `validate` command does, in-process: the
// verdict HostValidator must give.
func (r *hostRig) dryRun(ctx context.Context, yaml []byte) error {
	col, err := r.collector(string(yaml))
	if err != nil {
		return err
	}
	return col.DryRun(ctx)
}

// startHostRig runs a Collector on base until the test ends and returns
// the rig with the host of its extension.
func startHostRig(t testing.TB) (*hostRig, component.Host) {
	r := &hostRig{host: make(chan component.Host, 1)}
	col, err := r.collector(hostBase)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	var host component.Host
	select {
	case host = <-r.host:
	case err := <-done:
		t.Fatalf("the Collector stopped: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the extension never started")
	}
	t.Cleanup(func() {
		require.Eventually(t, func() bool { return col.GetState() == otelcol.StateRunning }, 20*time.Second, 5*time.Millisecond)
		col.Shutdown()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Error("the Collector did not stop")
		}
	})
	return r, host
}

// hostBase is the running Collector's config and the good candidate: every
// kind, a connector between two pipelines.
const hostBase = `
receivers:
  nop:
  check:
    endpoint: localhost:4317
processors:
  nop:
exporters:
  nop:
connectors:
  nop/fwd:
extensions:
  hostcap:
service:
  extensions: [hostcap]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [check]
      processors: [nop]
      exporters: [nop/fwd]
    traces/out:
      receivers: [nop/fwd]
      exporters: [nop]
`
