package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/service"

	"github.com/opampext/opampextension"
)

// uidNamespace makes instance uids stable across runs and identical to the
// ones bench/contribfleet uses.
var uidNamespace = uuid.MustParse("6ba7b811-9dad-11d1-80b4-00c04fd430c8")

// The components every instance is told about, as the service would.
var (
	traces             = pipeline.NewID(pipeline.SignalTraces)
	receiverID         = componentstatus.NewInstanceID(component.MustNewID("otlp"), component.KindReceiver, traces)
	batchID            = componentstatus.NewInstanceID(component.MustNewID("batch"), component.KindProcessor, traces)
	exporterID         = componentstatus.NewInstanceID(component.MustNewID("debug"), component.KindExporter, traces)
	pipelineComponents = []*componentstatus.InstanceID{receiverID, batchID, exporterID}
)

// agentExtension is what the fleet drives: the hooks the service calls.
type agentExtension interface {
	extension.Extension
	extensioncapabilities.PipelineWatcher
	extensioncapabilities.ConfigSnapshotWatcher
	extensioncapabilities.ComponentStatusWatcher
}

type fleet struct {
	agents []agentExtension
}

// host is a Collector host as an extension sees it: no other extensions,
// the module infos of the sample distro.
type host struct{}

func (host) GetExtensions() map[component.ID]component.Component { return nil }

func (host) GetModuleInfos() service.ModuleInfos {
	mi := func(ref string) service.ModuleInfo { return service.ModuleInfo{BuilderRef: ref} }
	return service.ModuleInfos{
		Receiver:  map[component.Type]service.ModuleInfo{component.MustNewType("otlp"): mi("go.opentelemetry.io/collector/receiver/otlpreceiver v0.162.0")},
		Processor: map[component.Type]service.ModuleInfo{component.MustNewType("batch"): mi("go.opentelemetry.io/collector/processor/batchprocessor v0.165.0")},
		Exporter:  map[component.Type]service.ModuleInfo{component.MustNewType("debug"): mi("go.opentelemetry.io/collector/exporter/debugexporter v0.165.0")},
		Extension: map[component.Type]service.ModuleInfo{component.MustNewType("opamp"): mi("github.com/opampext/opampextension v0.0.0")},
	}
}

func startFleet(ctx context.Context, endpoint string, n int) (*fleet, error) {
	factory := opampextension.NewFactory()
	conf := sampleConfig(endpoint)
	f := &fleet{}
	for i := range n {
		uid := uuid.NewSHA1(uidNamespace, fmt.Appendf(nil, "agent-%d", i))
		cfg := factory.CreateDefaultConfig().(*opampextension.Config)
		cfg.Server.WS.Endpoint = endpoint
		cfg.Server.WS.TLS.Insecure = true
		cfg.InstanceUID = uid.String()
		if err := cfg.Validate(); err != nil {
			return nil, errors.Join(fmt.Errorf("config: %w", err), f.shutdown(ctx))
		}
		set := extensiontest.NewNopSettings(factory.Type())
		set.Resource.Attributes().PutStr("service.name", "otelcol-fleet")
		set.Resource.Attributes().PutStr("service.version", "0.0.1-bench")
		set.Resource.Attributes().PutStr("service.instance.id", uid.String())
		ext, err := factory.Create(ctx, set, cfg)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("create instance %d: %w", i, err), f.shutdown(ctx))
		}
		a := ext.(agentExtension)
		if err := a.Start(ctx, host{}); err != nil {
			return nil, errors.Join(fmt.Errorf("start instance %d: %w", i, err), f.shutdown(ctx))
		}
		f.agents = append(f.agents, a)
		// What the service does after starting the extensions.
		if err := a.NotifyConfigSnapshot(ctx, extensioncapabilities.NewConfigSnapshot(conf, conf)); err != nil {
			return nil, errors.Join(err, f.shutdown(ctx))
		}
		for _, id := range pipelineComponents {
			a.Changed(id, componentstatus.NewEvent(componentstatus.StatusStarting))
		}
		for _, id := range pipelineComponents {
			a.Changed(id, componentstatus.NewEvent(componentstatus.StatusOK))
		}
		if err := a.Ready(); err != nil {
			return nil, errors.Join(err, f.shutdown(ctx))
		}
	}
	return f, nil
}

// repeatStatus tells every instance that the exporter is still OK, every
// interval, until stop is closed: what a component that re-reports an
// unchanged status makes the service do.
func (f *fleet) repeatStatus(interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for _, a := range f.agents {
				a.Changed(exporterID, componentstatus.NewEvent(componentstatus.StatusOK))
			}
		}
	}
}

// shutdown stops every instance concurrently, as many Collectors would.
func (f *fleet) shutdown(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(f.agents))
	for i, a := range f.agents {
		wg.Go(func() {
			_ = a.NotReady()
			errs[i] = a.Shutdown(ctx)
		})
	}
	wg.Wait()
	f.agents = nil
	return errors.Join(errs...)
}

// sampleConfig is the configuration of the sample Collector the process
// figures run: otlp -> batch -> debug, the opamp extension.
func sampleConfig(endpoint string) *confmap.Conf {
	return confmap.NewFromStringMap(map[string]any{
		"receivers":  map[string]any{"otlp": map[string]any{"protocols": map[string]any{"grpc": map[string]any{"endpoint": "127.0.0.1:4317"}}}},
		"processors": map[string]any{"batch": nil},
		"exporters":  map[string]any{"debug": nil},
		"extensions": map[string]any{"opamp": map[string]any{"server": map[string]any{"ws": map[string]any{
			"endpoint": endpoint, "tls": map[string]any{"insecure": true},
		}}}},
		"service": map[string]any{
			"extensions": []any{"opamp"},
			"pipelines": map[string]any{"traces": map[string]any{
				"receivers": []any{"otlp"}, "processors": []any{"batch"}, "exporters": []any{"debug"},
			}},
		},
	})
}
