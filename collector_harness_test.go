package opampextension

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/metadata"
)

// memProvider serves a Collector's config from memory under "mem:" and can
// tell the Collector it changed, as a watching provider does: that is how
// the tests reload a Collector (what SIGHUP does) without a signal, which
// would reach every Collector of the test binary.
type memProvider struct {
	mu      sync.Mutex
	yaml    string
	watcher confmap.WatcherFunc
}

func (p *memProvider) Retrieve(_ context.Context, _ string, w confmap.WatcherFunc) (*confmap.Retrieved, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watcher = w
	return confmap.NewRetrievedFromYAML([]byte(p.yaml))
}

func (*memProvider) Scheme() string                 { return "mem" }
func (*memProvider) Shutdown(context.Context) error { return nil }

// reload tells the Collector its config changed: it resolves it anew and
// starts a new service.
func (p *memProvider) reload() {
	p.mu.Lock()
	w := p.watcher
	p.mu.Unlock()
	w(&confmap.ChangeEvent{})
}

// retrieved says whether the Collector has read its config yet.
func (p *memProvider) retrieved() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.watcher != nil
}

// change replaces the config and reloads the Collector with it.
func (p *memProvider) change(yaml string) {
	p.mu.Lock()
	p.yaml = yaml
	p.mu.Unlock()
	p.reload()
}

// collectorSetup is what the tests' Collectors differ in; the rest (nop
// receiver and exporter, this extension, their modules) is the same.
type collectorSetup struct {
	receivers  []receiver.Factory         // beside nop
	providers  []confmap.ProviderFactory  // beside mem
	converters []confmap.ConverterFactory // none by default
	logging    []zap.Option               // for the Collector's logger
	gates      []string                   // feature gates on for the test
	cleanStop  bool                       // Run must end without an error
}

type collectorOption func(*collectorSetup)

// withReceivers adds receiver factories to nop's.
func withReceivers(f ...receiver.Factory) collectorOption {
	return func(s *collectorSetup) { s.receivers = append(s.receivers, f...) }
}

// withProviders adds config providers (for ${scheme:...} references).
func withProviders(f ...confmap.ProviderFactory) collectorOption {
	return func(s *collectorSetup) { s.providers = append(s.providers, f...) }
}

// withConverters adds config converters.
func withConverters(f ...confmap.ConverterFactory) collectorOption {
	return func(s *collectorSetup) { s.converters = append(s.converters, f...) }
}

// withLogging builds the Collector's logger with opts (hooks, for one).
func withLogging(opts ...zap.Option) collectorOption {
	return func(s *collectorSetup) { s.logging = append(s.logging, opts...) }
}

// withGates enables feature gates for the test and restores them after.
func withGates(ids ...string) collectorOption {
	return func(s *collectorSetup) { s.gates = append(s.gates, ids...) }
}

// withCleanStop fails the test unless the Collector's Run ends without an
// error when the test does.
func withCleanStop() collectorOption {
	return func(s *collectorSetup) { s.cleanStop = true }
}

func newCollectorSetup(opts []collectorOption) *collectorSetup {
	s := &collectorSetup{}
	for _, o := range opts {
		o(s)
	}
	return s
}

// collectorSettings are the settings of a test Collector whose config rs
// resolves; DryRun uses them as they are.
func collectorSettings(rs confmap.ResolverSettings, opts ...collectorOption) otelcol.CollectorSettings {
	return newCollectorSetup(opts).settings(rs)
}

func (s *collectorSetup) settings(rs confmap.ResolverSettings) otelcol.CollectorSettings {
	factories := func() (otelcol.Factories, error) {
		var f otelcol.Factories
		var err error
		receivers := append([]receiver.Factory{receivertest.NewNopFactory()}, s.receivers...)
		if f.Receivers, err = otelcol.MakeFactoryMap(receivers...); err != nil {
			return f, err
		}
		if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](exportertest.NewNopFactory()); err != nil {
			return f, err
		}
		if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](NewFactory()); err != nil {
			return f, err
		}
		f.Telemetry = otelconftelemetry.NewFactory()
		f.ReceiverModules = map[component.Type]string{component.MustNewType("nop"): "go.opentelemetry.io/collector/receiver/receivertest v0.164.0"}
		f.ExporterModules = map[component.Type]string{component.MustNewType("nop"): "go.opentelemetry.io/collector/exporter/exportertest v0.164.0"}
		f.ExtensionModules = map[component.Type]string{metadata.Type: "github.com/opampext/opampextension v0.0.0"}
		return f, nil
	}
	return otelcol.CollectorSettings{
		BuildInfo:               component.BuildInfo{Command: "otelcol-e2e", Description: "test", Version: "0.0.1"},
		Factories:               factories,
		ConfigProviderSettings:  otelcol.ConfigProviderSettings{ResolverSettings: rs},
		LoggingOptions:          s.logging,
		DisableGracefulShutdown: true,
		SkipSettingGRPCLogger:   true,
	}
}

// collectorRun is one running Collector; done gets Run's result (a test
// that takes it puts it back for the cleanup).
type collectorRun struct {
	col      *otelcol.Collector
	done     chan error
	provider *memProvider
}

// shutdown stops the Collector; it returns once Run has stopped its
// service. Core's Run calls WaitGroup.Add in its own goroutine and
// Shutdown calls Wait, and the race detector flags the pair at random
// unless the two are ordered: taking the provider's lock first orders
// them, as Run's Retrieve, after its Add, holds the same lock.
func (r *collectorRun) shutdown() {
	_ = r.provider.retrieved()
	r.col.Shutdown()
}

// runCollector runs a Collector on yaml, served by a memProvider, until
// the test ends.
func runCollector(t *testing.T, yaml string, opts ...collectorOption) *collectorRun {
	t.Helper()
	s := newCollectorSetup(opts)
	for _, id := range s.gates {
		setGate(t, id, true)
	}
	p := &memProvider{yaml: yaml}
	col, err := otelcol.NewCollector(s.settings(confmap.ResolverSettings{
		URIs: []string{"mem:config"},
		ProviderFactories: append([]confmap.ProviderFactory{
			confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return p }),
		}, s.providers...),
		ConverterFactories: s.converters,
	}))
	require.NoError(t, err)
	run := &collectorRun{col: col, done: make(chan error, 1), provider: p}
	go func() {
		err := col.Run(context.Background())
		if err != nil {
			t.Logf("the Collector stopped: %v", err)
		}
		run.done <- err
	}()
	t.Cleanup(func() {
		run.shutdown()
		select {
		case err := <-run.done:
			if s.cleanStop {
				assert.NoError(t, err, "the Collector's Run")
			}
		case <-time.After(waitTime):
			t.Error("the Collector did not stop")
		}
	})
	return run
}

// setGate sets a feature gate for the test and restores it after.
func setGate(t *testing.T, id string, on bool) {
	t.Helper()
	reg := featuregate.GlobalRegistry()
	var was bool
	reg.VisitAll(func(g *featuregate.Gate) {
		if g.ID() == id {
			was = g.IsEnabled()
		}
	})
	require.NoError(t, reg.Set(id, on))
	t.Cleanup(func() { _ = reg.Set(id, was) })
}

// collectorYAML is a test Collector's config: a traces pipeline from
// receiver (nop when empty) to the nop exporter, internal metrics off, and
// this extension with opamp as its settings. telemetry adds to
// service.telemetry and pipelines to service.pipelines. Each is YAML
// indented as it stands in the file: four spaces for opamp's keys, a
// telemetry key or a pipeline.
type collectorYAML struct {
	opamp, receiver, telemetry, pipelines string
}

func (c collectorYAML) String() string {
	return fmt.Sprintf(`
receivers:
  %[1]s:
exporters:
  nop:
extensions:
  opamp:
%[2]s
service:
  telemetry:
    metrics:
      level: none
%[3]s
  extensions: [opamp]
  pipelines:
    traces:
      receivers: [%[1]s]
      exporters: [nop]
%[4]s
`, cmp.Or(c.receiver, "nop"), c.opamp, c.telemetry, c.pipelines)
}
