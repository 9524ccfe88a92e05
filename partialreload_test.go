package opampextension

import (
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

	"github.com/opampext/opampextension/internal/testserver"
)

// memProvider serves a config from memory under "mem:" and can tell the
// Collector it changed, as a watching provider does: that is how a reload
// starts without a signal (which would reach every Collector of the test
// binary).
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

// change replaces the config and tells the Collector.
func (p *memProvider) change(yaml string) {
	p.mu.Lock()
	p.yaml = yaml
	w := p.watcher
	p.mu.Unlock()
	w(&confmap.ChangeEvent{})
}

const partialReloadConfig = `
receivers:
  %[1]s:
exporters:
  nop:
extensions:
  opamp:
    server:
      ws:
        endpoint: %[2]s
    instance_uid: %[3]s
service:
  telemetry:
    metrics:
      level: none
  extensions: [opamp]
  pipelines:
    traces:
      receivers: [%[1]s]
      exporters: [nop]
`

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

// TestPartialReloadRemovesGoneComponents runs a real Collector with core's
// partial receiver reload (service.partialReload and
// service.partialReloadReceivers, v0.165.0) and renames its receiver: the
// extension is not rebuilt and gets no new config snapshot, only the old
// receiver's Stopping and Stopped. The server must see the new receiver,
// no trace of the old one, and a healthy root (issue 10, part 5).
func TestPartialReloadRemovesGoneComponents(t *testing.T) {
	setGate(t, "service.partialReload", true)
	setGate(t, "service.partialReloadReceivers", true)
	srv := testserver.Start(t)
	uid := "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c80"
	mem := &memProvider{yaml: fmt.Sprintf(partialReloadConfig, "nop", srv.WSURL(), uid)}

	factories := func() (otelcol.Factories, error) {
		var f otelcol.Factories
		var err error
		if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](receivertest.NewNopFactory()); err != nil {
			return f, err
		}
		if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](exportertest.NewNopFactory()); err != nil {
			return f, err
		}
		if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](NewFactory()); err != nil {
			return f, err
		}
		f.Telemetry = otelconftelemetry.NewFactory()
		return f, nil
	}
	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{Command: "otelcol-partial", Version: "0.0.1"},
		Factories: factories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs: []string{"mem:config"},
			ProviderFactories: []confmap.ProviderFactory{confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider {
				return mem
			})},
		}},
		DisableGracefulShutdown: true,
		SkipSettingGRPCLogger:   true,
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	t.Cleanup(func() {
		col.Shutdown()
		select {
		case err := <-done:
			assert.NoError(t, err, "the Collector's Run")
		case <-time.After(waitTime):
			t.Error("the Collector did not stop")
		}
	})

	leaves := func(a *testserver.AgentState) map[string]bool {
		out := map[string]bool{}
		for k := range a.Health.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap() {
			out[k] = true
		}
		return out
	}
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
		return a.UID == uid && a.Health.GetHealthy() && leaves(a)["receiver:nop"]
	})
	connections := srv.Connections()

	mem.change(fmt.Sprintf(partialReloadConfig, "nop/renamed", srv.WSURL(), uid))
	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
		l := leaves(a)
		return a.UID == uid && l["receiver:nop/renamed"] && !l["receiver:nop"] && a.Health.GetHealthy()
	})
	assert.True(t, st.Health.GetHealthy(), "root: %s", st.Health.GetStatus())
	assert.Equal(t, connections, srv.Connections(), "a partial reload keeps the extension and its connection")
}
