package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/client"
	clienttypes "github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/opampext/opampextension/cmd/opampdev/internal/agents"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer collects terminal output written from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startServer(t *testing.T, out io.Writer) *Server {
	t.Helper()
	srv := New(Config{OpAMPAddrs: []string{"127.0.0.1:0"}, UIAddr: "127.0.0.1:0", StaleAfter: time.Second, Out: out})
	require.NoError(t, srv.Start())
	t.Cleanup(func() { shutdown(t, srv) })
	return srv
}

func shutdown(t *testing.T, srv *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	assert.NoError(t, srv.Shutdown(ctx))
}

var agentUID = clienttypes.InstanceUid{0x01, 0x92, 0xf3, 0xa5, 0x7c, 0x4e, 0x7b, 0x8a, 0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c, 0x7d}

const agentConfig = "receivers:\n  otlp: {}\nexporters:\n  debug: {}\n"

// startAgent connects a real opamp-go client that reports like the
// extension does: description, health tree, effective config and
// available components (hash first, full map when asked).
func startAgent(t *testing.T, tr agents.Transport, srv *Server) client.OpAMPClient {
	t.Helper()
	return startAgentWith(t, tr, srv, agentOptions{})
}

// agentOptions extend startAgent's client for one test.
type agentOptions struct {
	caps            protobufs.AgentCapabilities                        // added to the default ones
	onMessage       func(client.OpAMPClient, *clienttypes.MessageData) // default: ignore
	effectiveConfig func() string                                      // default: agentConfig
}

func startAgentWith(t *testing.T, tr agents.Transport, srv *Server, opts agentOptions) client.OpAMPClient {
	t.Helper()
	if opts.effectiveConfig == nil {
		opts.effectiveConfig = func() string { return agentConfig }
	}
	var c client.OpAMPClient
	url := "ws://" + srv.OpAMPAddr().String() + "/v1/opamp"
	if tr == agents.TransportHTTP {
		hc := client.NewHTTP(nil)
		hc.SetPollingInterval(100 * time.Millisecond)
		c, url = hc, "http://"+srv.OpAMPAddr().String()+"/v1/opamp"
	} else {
		c = client.NewWebSocket(nil)
	}
	str := func(k, v string) *protobufs.KeyValue {
		return &protobufs.KeyValue{Key: k, Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: v}}}
	}
	require.NoError(t, c.SetAgentDescription(&protobufs.AgentDescription{
		IdentifyingAttributes:    []*protobufs.KeyValue{str("service.name", "testcol")},
		NonIdentifyingAttributes: []*protobufs.KeyValue{str("os.type", "linux")},
	}))
	require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: true, Status: "StatusOK",
		ComponentHealthMap: map[string]*protobufs.ComponentHealth{
			"pipeline:traces": {Healthy: true, Status: "StatusOK", ComponentHealthMap: map[string]*protobufs.ComponentHealth{
				"receiver:otlp": {Healthy: true, Status: "StatusOK"},
			}},
		}}))
	require.NoError(t, c.SetAvailableComponents(&protobufs.AvailableComponents{
		Hash: []byte("components-v1"),
		Components: map[string]*protobufs.ComponentDetails{
			"receivers": {SubComponentMap: map[string]*protobufs.ComponentDetails{"otlp": {}}},
			"exporters": {SubComponentMap: map[string]*protobufs.ComponentDetails{"debug": {}}},
		},
	}))
	caps := protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents | opts.caps
	require.NoError(t, c.Start(context.Background(), clienttypes.StartSettings{
		OpAMPServerURL: url,
		InstanceUid:    agentUID,
		Capabilities:   caps,
		Callbacks: clienttypes.Callbacks{
			GetEffectiveConfig: func(context.Context) (*protobufs.EffectiveConfig, error) {
				return &protobufs.EffectiveConfig{ConfigMap: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
					"": {Body: []byte(opts.effectiveConfig()), ContentType: "text/yaml"},
				}}}, nil
			},
			OnMessage: func(_ context.Context, msg *clienttypes.MessageData) {
				if opts.onMessage != nil {
					opts.onMessage(c, msg)
				}
			},
		},
	}))
	return c
}

func getAgents(t *testing.T, srv *Server) []agents.Agent {
	t.Helper()
	var out []agents.Agent
	require.NoError(t, json.Unmarshal([]byte(get(t, srv, "/api/agents", "application/json")), &out))
	return out
}

func getPage(t *testing.T, srv *Server) string {
	t.Helper()
	return get(t, srv, "/", "text/html; charset=utf-8")
}

// get fetches path from the page's server, which must answer 200 with
// contentType.
func get(t *testing.T, srv *Server, path, contentType string) string {
	t.Helper()
	resp, err := http.Get("http://" + srv.UIAddr().String() + path)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, contentType, resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestAgentLifecycle(t *testing.T) {
	for _, tr := range []agents.Transport{agents.TransportWebSocket, agents.TransportHTTP} {
		t.Run(string(tr), func(t *testing.T) {
			out := &syncBuffer{}
			srv := startServer(t, out)
			assert.Empty(t, getAgents(t, srv), "an empty list, not null")
			assert.Contains(t, getPage(t, srv), "No agent has connected yet")

			c := startAgent(t, tr, srv)
			// Complete means the server asked for, and got, the full
			// components map after the client's hash-only first report.
			require.EventuallyWithT(t, func(ct *assert.CollectT) {
				list := getAgents(t, srv)
				if !assert.Len(ct, list, 1) {
					return
				}
				a := list[0]
				assert.True(ct, a.Connected)
				assert.NotNil(ct, a.Health)
				assert.Len(ct, a.AvailableComponents["receivers"], 1)
				assert.Len(ct, a.EffectiveConfig, 1)
			}, 5*time.Second, 20*time.Millisecond)

			a := getAgents(t, srv)[0]
			assert.Equal(t, "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d", a.InstanceUID)
			assert.Equal(t, tr, a.Transport)
			assert.True(t, a.Health.Healthy)
			assert.Equal(t, "StatusOK", a.Health.Components["pipeline:traces"].Components["receiver:otlp"].Status)
			assert.Equal(t, agentConfig, a.EffectiveConfig[0].Body)
			assert.Equal(t, "testcol", a.Name())

			page := getPage(t, srv)
			for _, want := range []string{
				"0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d", "testcol", "os.type", "receiver:otlp",
				"<pre>receivers:\n  otlp: {}", "receivers (1)", "setTimeout(refresh, 1000)",
			} {
				assert.Contains(t, page, want)
			}

			require.NoError(t, c.Stop(context.Background()))
			require.Eventually(t, func() bool { return !getAgents(t, srv)[0].Connected }, 5*time.Second, 20*time.Millisecond)

			printed := out.String()
			for _, want := range []string{
				"testcol/0192f3a5  connected via " + string(tr),
				"available components: hash only, asking for the full list",
				"available components: exporters=1 receivers=1",
				"health: healthy StatusOK (+2 healthy components)",
				fmt.Sprintf("effective config (%d bytes):", len(agentConfig)),
				"disconnected",
			} {
				assert.Contains(t, printed, want)
			}
		})
	}
}

// Shutdown must close WebSocket connections http.Server does not track;
// goleak in TestMain catches a read loop left behind.
func TestShutdownClosesOpenConnections(t *testing.T) {
	srv := New(Config{OpAMPAddrs: []string{"127.0.0.1:0"}, UIAddr: "127.0.0.1:0"})
	require.NoError(t, srv.Start())
	c := startAgent(t, agents.TransportWebSocket, srv)
	require.Eventually(t, func() bool {
		list := srv.Agents()
		return len(list) == 1 && list[0].Connected
	}, 5*time.Second, 20*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	assert.False(t, srv.Agents()[0].Connected)
	require.NoError(t, srv.Shutdown(ctx), "second call is a no-op")
	require.NoError(t, c.Stop(ctx))
}

func TestStartErrors(t *testing.T) {
	busy := startServer(t, io.Discard)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad OpAMP address", Config{OpAMPAddrs: []string{"127.0.0.1:notaport"}, UIAddr: "127.0.0.1:0"}, `OpAMP listen address "127.0.0.1:notaport"`},
		{"second OpAMP port taken", Config{OpAMPAddrs: []string{"127.0.0.1:0", busy.OpAMPAddr().String()}, UIAddr: "127.0.0.1:0"}, "OpAMP listen address"},
		{"page port taken", Config{OpAMPAddrs: []string{"127.0.0.1:0"}, UIAddr: busy.UIAddr().String()}, "page listen address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(tt.cfg).Start()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	assert.Error(t, busy.Start(), "already started")
}

func TestPrinterIndentsContinuationLines(t *testing.T) {
	var b strings.Builder
	p := &printer{w: &b, now: func() time.Time { return time.Date(2026, 1, 1, 9, 8, 7, 0, time.UTC) }}
	p.report(agents.Report{Agent: "col/abc", Lines: []string{"one", "two\n  more"}})
	p.report(agents.Report{Agent: "silent"})
	assert.Equal(t, "09:08:07 col/abc  one\n09:08:07 col/abc  two\n"+strings.Repeat(" ", 18)+"  more\n", b.String())
}
