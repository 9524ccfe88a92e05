package reliability

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pipeline"

	opampextension "github.com/opampext/opampextension"
	"github.com/opampext/opampextension/internal/testserver"
)

// capability is the custom capability every agent registers.
const capability = "io.opampext.reliability"

// The extension's type is unexported; the suite drives it through the
// interfaces the Collector uses.
type driven interface {
	extension.Extension
	extensioncapabilities.ComponentStatusWatcher
	extensioncapabilities.PipelineWatcher
	extensioncapabilities.ConfigSnapshotWatcher
	opampcustommessages.CustomCapabilityRegistry
}

// watched is one component whose health the agent reports.
type watched struct {
	key  string // the leaf key in the health tree, e.g. "receiver:otlp"
	id   *componentstatus.InstanceID
	node string // its pipeline node, e.g. "pipeline:traces"
}

var tracesPipeline = pipeline.NewID(pipeline.SignalTraces)

// components are the pipeline components of every agent, sorted by key.
var components = []watched{
	{key: "exporter:debug", node: "pipeline:traces", id: componentstatus.NewInstanceID(component.MustNewID("debug"), component.KindExporter, tracesPipeline)},
	{key: "receiver:otlp", node: "pipeline:traces", id: componentstatus.NewInstanceID(component.MustNewID("otlp"), component.KindReceiver, tracesPipeline)},
}

// agent is one extension instance and the state the test has given it.
type agent struct {
	name string // "ws3", "http4": transport and index
	uid  string
	http bool
	ext  driven
	cch  opampcustommessages.CustomCapabilityHandler

	// mu guards the fields below; the churn goroutine writes them.
	mu     sync.Mutex
	status map[string]componentstatus.Status // by component key
	seq    int
	sent   []string // payloads SendMessage accepted
	busy   int      // SendMessage calls refused: another message pending
}

// fleetSettings describe the fleet.
type fleetSettings struct {
	agents          int // half WebSocket, half HTTP
	reconnectSpread time.Duration
	pollingInterval time.Duration
}

// startFleet starts the agents against endpointHost (the proxy) and gives
// each the state a Collector would: config snapshot, health, Ready and a
// custom capability. Shutdown is registered with t.Cleanup.
func startFleet(t *testing.T, endpointHost string, fs fleetSettings) []*agent {
	t.Helper()
	var out []*agent
	for i := range fs.agents {
		a := &agent{
			uid:    fmt.Sprintf("0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b7d%02d", i),
			http:   i%2 == 1,
			status: map[string]componentstatus.Status{},
		}
		f := opampextension.NewFactory()
		cfg := f.CreateDefaultConfig().(*opampextension.Config)
		cfg.InstanceUID = a.uid
		if a.http {
			a.name = fmt.Sprintf("http%d", i)
			ss := cfg.Server.WS.ServerSettings // the defaults shared by both transports
			ss.Endpoint = a.endpoint(endpointHost)
			cfg.Server = &opampextension.OpAMPServer{HTTP: &opampextension.HTTPServer{ServerSettings: ss, PollingInterval: fs.pollingInterval}}
		} else {
			a.name = fmt.Sprintf("ws%d", i)
			cfg.Server.WS.Endpoint = a.endpoint(endpointHost)
			cfg.Server.WS.ReconnectSpread = fs.reconnectSpread
		}
		// Every agent takes connection-settings offers (the offer steps),
		// keeping what it accepts in a state directory of its own.
		cfg.Capabilities.AcceptsOpAMPConnectionSettings = true
		cfg.Storage.Directory = t.TempDir()
		cfg.ConnectionSettings.TryTimeout = offerTryTimeout
		require.NoError(t, cfg.Validate())

		set := extensiontest.NewNopSettings(f.Type())
		set.ID = component.MustNewIDWithName(f.Type().String(), fmt.Sprintf("f%d", i))
		set.Resource.Attributes().PutStr("service.name", "otelcol-reliability")
		set.Resource.Attributes().PutStr("service.version", "1.0.0")
		ext, err := f.Create(context.Background(), set, cfg)
		require.NoError(t, err)
		d, ok := ext.(driven)
		require.True(t, ok, "the extension must implement the Collector's watcher interfaces")
		a.ext = d

		require.NoError(t, d.Start(context.Background(), newHost()))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Shutdown(ctx); err != nil {
				t.Errorf("%s: shutdown: %v", a.name, err)
			}
		})
		conf := confmap.NewFromStringMap(map[string]any{
			"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{"grpc": nil}}},
			"exporters": map[string]any{"debug": nil},
			"service":   map[string]any{"pipelines": map[string]any{"traces": map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"debug"}}}},
		})
		require.NoError(t, d.NotifyConfigSnapshot(context.Background(), extensioncapabilities.NewConfigSnapshot(conf, conf)))
		for _, c := range components {
			d.Changed(c.id, componentstatus.NewEvent(componentstatus.StatusStarting))
			a.setStatus(c, componentstatus.StatusOK)
		}
		require.NoError(t, d.Ready())
		a.cch, err = d.Register(capability)
		require.NoError(t, err)
		out = append(out, a)
	}
	return out
}

// endpoint is the OpAMP URL of host for the agent's transport.
func (a *agent) endpoint(host string) string {
	if a.http {
		return "http://" + host + testserver.Path
	}
	return "ws://" + host + testserver.Path
}

// setStatus reports a component's status and records it as expected.
func (a *agent) setStatus(c watched, st componentstatus.Status) {
	a.mu.Lock()
	a.status[c.key] = st
	a.mu.Unlock()
	ev := componentstatus.NewEvent(st)
	if st == componentstatus.StatusRecoverableError {
		ev = componentstatus.NewRecoverableErrorEvent(errors.New("exporting failed: connection refused"))
	}
	a.ext.Changed(c.id, ev)
}

// flip toggles one component between OK and a recoverable error.
func (a *agent) flip(c watched) {
	a.mu.Lock()
	next := componentstatus.StatusRecoverableError
	if a.status[c.key] == componentstatus.StatusRecoverableError {
		next = componentstatus.StatusOK
	}
	a.mu.Unlock()
	a.setStatus(c, next)
}

// sendCustom hands one uniquely numbered custom message, tagged with the
// step it was sent in, to the extension and records it when accepted.
func (a *agent) sendCustom(stepName string) {
	a.mu.Lock()
	a.seq++
	payload := fmt.Sprintf("%s/%s/%d", a.uid, stepName, a.seq)
	a.mu.Unlock()
	_, err := a.cch.SendMessage("tick", []byte(payload))
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.busy++ // opamp-go holds one pending custom message at a time
		return
	}
	a.sent = append(a.sent, payload)
}

// expectedStatus returns a copy of the statuses the agent was given.
func (a *agent) expectedStatus() map[string]componentstatus.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]componentstatus.Status, len(a.status))
	for k, v := range a.status {
		out[k] = v
	}
	return out
}

// stepOf returns the step a custom message payload was sent in.
func stepOf(payload string) string {
	parts := strings.Split(payload, "/")
	if len(parts) != 3 {
		return "?"
	}
	return parts[1]
}

// custom returns what SendMessage accepted and how often it refused.
func (a *agent) custom() (sent []string, busy int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.sent...), a.busy
}

// churn keeps the fleet busy until the returned stop is called: every tick
// one agent, in turn, flips a component's health and sends a custom
// message. stop waits for the goroutine, so the expected state is settled
// when it returns.
func churn(agents []*agent, tick time.Duration, stepName string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(tick)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			a := agents[n%len(agents)]
			a.flip(components[(n/len(agents))%len(components)])
			a.sendCustom(stepName)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// customPayloads lists the data of the custom messages of our capability
// in one agent's record on a server.
func customPayloads(st *testserver.AgentState) []string {
	var out []string
	for _, m := range st.CustomMessages {
		if m.GetCapability() == capability {
			out = append(out, string(m.GetData()))
		}
	}
	return out
}
