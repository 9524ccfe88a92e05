package opampextension

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/service"
	"go.opentelemetry.io/collector/service/hostcapabilities"

	"github.com/opampext/opampextension/internal/metadata"
)

// testHost is the narrow part of the Collector's host the extension uses:
// extensions by id, module info and the status reporter.
type testHost struct {
	exts    map[component.ID]component.Component
	modules service.ModuleInfos

	mu     sync.Mutex
	events []*componentstatus.Event
}

var (
	_ component.Host              = (*testHost)(nil)
	_ hostcapabilities.ModuleInfo = (*testHost)(nil)
	_ componentstatus.Reporter    = (*testHost)(nil)
)

func newTestHost() *testHost {
	return &testHost{
		exts: map[component.ID]component.Component{},
		modules: service.ModuleInfos{
			Receiver: map[component.Type]service.ModuleInfo{
				component.MustNewType("otlp"): {BuilderRef: "go.opentelemetry.io/collector/receiver/otlpreceiver v0.162.0"},
			},
			Exporter: map[component.Type]service.ModuleInfo{
				component.MustNewType("debug"): {BuilderRef: "go.opentelemetry.io/collector/exporter/debugexporter v0.164.0"},
			},
			Extension: map[component.Type]service.ModuleInfo{
				metadata.Type: {BuilderRef: "github.com/opampext/opampextension v0.0.0"},
			},
		},
	}
}

func (h *testHost) GetExtensions() map[component.ID]component.Component { return h.exts }
func (h *testHost) GetModuleInfos() service.ModuleInfos                 { return h.modules }

func (h *testHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

func (h *testHost) fatalEvents() []*componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*componentstatus.Event
	for _, ev := range h.events {
		if ev.Status() == componentstatus.StatusFatalError {
			out = append(out, ev)
		}
	}
	return out
}

// headerAuth is an authenticator extension that sets a fresh header value
// per request and remembers which URLs it signed.
type headerAuth struct {
	component.StartFunc
	component.ShutdownFunc

	mu   sync.Mutex
	n    int
	urls []string
}

var _ extensionauth.HTTPClient = (*headerAuth)(nil)

func (a *headerAuth) RoundTripper(base http.RoundTripper) (http.RoundTripper, error) {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		a.mu.Lock()
		a.n++
		a.urls = append(a.urls, r.URL.String())
		token := "token-" + string(rune('a'+a.n%26))
		a.mu.Unlock()
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+token)
		return base.RoundTrip(r)
	}), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// agentSeq gives every test agent its own component id, so that the
// process-wide uid keeper does not carry one test's uid into another.
var agentSeq atomic.Int64

// newAgent creates the extension from a config through the factory, as the
// Collector does.
func newAgent(t *testing.T, cfg *Config) *opampAgent {
	t.Helper()
	set := extensiontest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprintf("test%d", agentSeq.Add(1)))
	return newAgentWithSettings(t, cfg, set)
}

func newAgentWithSettings(t *testing.T, cfg *Config, set extension.Settings) *opampAgent {
	t.Helper()
	require.NoError(t, cfg.Validate())
	set.Resource.Attributes().PutStr("service.name", "otelcol-test")
	set.Resource.Attributes().PutStr("service.version", "1.2.3")
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	return ext.(*opampAgent)
}

func wsConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Server.WS.Endpoint = endpoint
	return cfg
}

func httpConfig(endpoint string) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Server = &OpAMPServer{HTTP: &HTTPServer{ServerSettings: defaultServerSettings(), PollingInterval: 100 * time.Millisecond}}
	cfg.Server.HTTP.Endpoint = endpoint
	return cfg
}

func shutdown(t *testing.T, ext extension.Extension) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, ext.Shutdown(ctx))
}

func snapshot(t *testing.T, m map[string]any) extensioncapabilities.ConfigSnapshot {
	t.Helper()
	conf := confmap.NewFromStringMap(m)
	return extensioncapabilities.NewConfigSnapshot(conf, conf)
}

func statusEvent(st componentstatus.Status) *componentstatus.Event {
	return componentstatus.NewEvent(st)
}
