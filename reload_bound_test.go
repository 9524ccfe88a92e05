package opampextension

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// reloadProvider serves a fixed config under the scheme "reloadtest" and
// lets the test tell the Collector that it changed, which makes the
// Collector reload (as SIGHUP does) without a signal to the test process.
type reloadProvider struct {
	mu      sync.Mutex
	yaml    string
	watcher confmap.WatcherFunc
}

func (p *reloadProvider) Retrieve(_ context.Context, _ string, w confmap.WatcherFunc) (*confmap.Retrieved, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watcher = w
	return confmap.NewRetrievedFromYAML([]byte(p.yaml))
}

func (*reloadProvider) Scheme() string                 { return "reloadtest" }
func (*reloadProvider) Shutdown(context.Context) error { return nil }

// reload makes the Collector reload, with yaml as its new config.
func (p *reloadProvider) reload(yaml string) {
	p.mu.Lock()
	p.yaml = yaml
	w := p.watcher
	p.mu.Unlock()
	w(&confmap.ChangeEvent{})
}

// run runs a Collector on p's config, its logger built with opts.
func (p *reloadProvider) run(t *testing.T, opts ...zap.Option) *collectorRun {
	return runCollector(t, confmap.ResolverSettings{
		URIs:              []string{"reloadtest:config"},
		ProviderFactories: []confmap.ProviderFactory{confmap.NewProviderFactory(func(confmap.ProviderSettings) confmap.Provider { return p })},
	}, opts...)
}

// reloadConfig is a Collector whose opamp extension talks to endpoint
// and reports a large attribute (in its description and effective
// config; not in the resource, which the Collector adds to every log
// line).
const reloadConfig = `
receivers:
  nop:
exporters:
  nop:
extensions:
  opamp:
    server:
      %s:
        endpoint: %s
    agent_description:
      non_identifying_attributes:
        big: %q
service:
  telemetry:
    metrics:
      level: none
  extensions: [opamp]
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
`

// serviceStops records how long each service shutdown of a Collector
// took, from its log: "Starting shutdown..." to "Shutdown complete.".
type serviceStops struct {
	mu      sync.Mutex
	started time.Time
	took    []time.Duration
}

func (s *serviceStops) hook(e zapcore.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Message {
	case "Starting shutdown...":
		s.started = e.Time
	case "Shutdown complete.":
		s.took = append(s.took, e.Time.Sub(s.started))
	}
	return nil
}

func (s *serviceStops) durations() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.took...)
}

// TestReloadNotHeldByGoodbye: a real Collector reloads while its server
// is unreachable in two ways; the retiring service's shutdown (this
// extension's goodbye is all it waits for) takes at most the stop bound.
//   - http: a black hole that accepts and never answers, so no poll ever
//     succeeded: no goodbye, so the reload is not held at all.
//   - ws: a server that upgraded and never reads, and a first message (a
//     12 MB attribute) larger than the socket buffers, so the write
//     blocks.
func TestReloadNotHeldByGoodbye(t *testing.T) {
	tests := []struct {
		transport string
		bigSize   int
		bound     time.Duration
	}{
		{transport: "http", bigSize: 10, bound: stopSlack},
		{transport: "ws", bigSize: 12 << 20, bound: stopBound + stopSlack},
	}
	for _, tt := range tests {
		t.Run(tt.transport, func(t *testing.T) {
			var endpoint string
			var contacts *atomic.Int64 // connections (http) or upgrades (ws) so far
			if tt.transport == "http" {
				bh := startBlackHole(t)
				endpoint, contacts = bh.url("http"), &bh.accepted
			} else {
				deaf := startDeafWS(t)
				endpoint, contacts = deaf.url, &deaf.upgrades
			}
			yaml := fmt.Sprintf(reloadConfig, tt.transport, endpoint, strings.Repeat("x", tt.bigSize))
			p := &reloadProvider{yaml: yaml}
			stops := &serviceStops{}
			p.run(t, zap.Hooks(stops.hook))
			require.Eventually(t, func() bool { return contacts.Load() == 1 }, 3*waitTime, 10*time.Millisecond)
			time.Sleep(500 * time.Millisecond) // the poll hangs, the write blocks

			p.reload(yaml)
			require.Eventually(t, func() bool { return len(stops.durations()) == 1 }, time.Minute, 10*time.Millisecond)
			took := stops.durations()
			t.Logf("The retiring service took %s to shut down", took[0].Round(10*time.Millisecond))
			assert.Less(t, took[0], tt.bound)
		})
	}
}
