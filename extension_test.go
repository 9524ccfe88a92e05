package opampextension

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/testserver"
)

const waitTime = 10 * time.Second

func attr(kvs []*protobufs.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

var (
	pipeTraces = pipeline.NewID(pipeline.SignalTraces)
	otlpRecv   = componentstatus.NewInstanceID(component.MustNewID("otlp"), component.KindReceiver, pipeTraces)
	debugExp   = componentstatus.NewInstanceID(component.MustNewID("debug"), component.KindExporter, pipeTraces)
)

// secretConfig is a Collector config with secrets in shapes core does not
// redact (plain strings).
var secretConfig = map[string]any{
	"exporters": map[string]any{
		"otlphttp": map[string]any{
			"endpoint": "https://alice:hunter2@collector.example.com:4318",
			"headers":  map[string]any{"Authorization": "Bearer sk-live-123456"},
		},
		"debug": map[string]any{"verbosity": "detailed"},
	},
	"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{"grpc": map[string]any{"endpoint": "0.0.0.0:4317"}}}},
	"extensions": map[string]any{
		"basicauth": map[string]any{"client_auth": map[string]any{"username": "bob", "password": "s3cr3t-pw"}},
	},
	"service": map[string]any{"pipelines": map[string]any{"traces": map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"debug"}}}},
}

var secrets = []string{"hunter2", "sk-live-123456", "s3cr3t-pw"}

// TestReportsEverything runs the extension against a real OpAMP server over
// both transports and checks every report end to end.
func TestReportsEverything(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			srv := testserver.Start(t)
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
			}
			cfg.AgentDescription.NonIdentifyingAttributes = map[string]string{"deployment.environment.name": "test"}
			agent := newAgent(t, cfg)
			host := newTestHost()

			agent.Changed(otlpRecv, statusEvent(componentstatus.StatusStarting))
			require.NoError(t, agent.Start(context.Background(), host))
			require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
			agent.Changed(otlpRecv, statusEvent(componentstatus.StatusOK))
			agent.Changed(debugExp, statusEvent(componentstatus.StatusOK))
			require.NoError(t, agent.Ready())

			uid := agent.uid.String()
			st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
				return a.UID == uid && a.Description != nil && a.EffectiveConfig != nil &&
					a.Health.GetHealthy() && a.AvailableComponents != nil
			})

			ident := st.Description.IdentifyingAttributes
			assert.Equal(t, uid, attr(ident, "service.instance.id"))
			assert.Equal(t, "otelcol-test", attr(ident, "service.name"))
			assert.Equal(t, "1.2.3", attr(ident, "service.version"))
			nonIdent := st.Description.NonIdentifyingAttributes
			assert.NotEmpty(t, attr(nonIdent, "host.name"))
			assert.NotEmpty(t, attr(nonIdent, "os.type"))
			assert.Equal(t, "test", attr(nonIdent, "deployment.environment.name"))

			body := string(st.EffectiveConfig.GetConfigMap().GetConfigMap()[""].GetBody())
			assert.Contains(t, body, "collector.example.com")
			for _, s := range secrets {
				assert.NotContains(t, body, s)
			}
			assert.Equal(t, "text/yaml", st.EffectiveConfig.GetConfigMap().GetConfigMap()[""].GetContentType())

			pipe := st.Health.GetComponentHealthMap()["pipeline:traces"]
			require.NotNil(t, pipe, "health tree: %v", st.Health)
			assert.True(t, pipe.GetComponentHealthMap()["receiver:otlp"].GetHealthy())
			assert.NotZero(t, st.Health.GetStartTimeUnixNano())

			recv := st.AvailableComponents.GetComponents()["receivers"].GetSubComponentMap()
			assert.Contains(t, recv, "otlp")

			for _, c := range []protobufs.AgentCapabilities{
				protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig,
				protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth,
				protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents,
			} {
				assert.True(t, st.HasCapability(c), "capability %s", c)
			}

			shutdown(t, agent)
			st = srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.Disconnected })
			assert.True(t, st.Disconnected)
		})
	}
}

// TestRepeatedStatusSendsNothing: a component repeating the same status (a
// memory_limiter does) must not reach the server again.
func TestRepeatedStatusSendsNothing(t *testing.T) {
	srv := testserver.Start(t)
	agent := newAgent(t, wsConfig(srv.WSURL()))
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	agent.Changed(otlpRecv, statusEvent(componentstatus.StatusOK))
	require.NoError(t, agent.Ready())
	uid := agent.uid.String()
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.Health.GetHealthy() })
	time.Sleep(300 * time.Millisecond) // let the last changes settle
	before := srv.Agent(uid).MessageCount

	for range 200 {
		agent.Changed(otlpRecv, statusEvent(componentstatus.StatusOK))
	}
	time.Sleep(500 * time.Millisecond)
	assert.Equal(t, before, srv.Agent(uid).MessageCount, "repeated identical statuses were sent")

	// A real change still goes out.
	agent.Changed(otlpRecv, componentstatus.NewRecoverableErrorEvent(errors.New("queue full")))
	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && !a.Health.GetHealthy() })
	leaf := st.Health.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap()["receiver:otlp"]
	assert.Equal(t, "queue full", leaf.GetLastError())
}

// TestHealthDisabled: reports_health false must neither block status calls
// nor advertise the capability (contrib hangs start-up here).
func TestHealthDisabled(t *testing.T) {
	srv := testserver.Start(t)
	cfg := wsConfig(srv.WSURL())
	cfg.Capabilities.ReportsHealth = false
	agent := newAgent(t, cfg)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			agent.Changed(otlpRecv, statusEvent(componentstatus.StatusOK))
		}
	}()
	select {
	case <-done:
	case <-time.After(waitTime):
		t.Fatal("Changed blocked with reports_health: false")
	}
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	require.NoError(t, agent.Ready())
	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })
	assert.False(t, st.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth))
	assert.Nil(t, st.Health)
}

// TestServerAssignsInstanceUID: the new uid is used and the description
// follows it.
func TestServerAssignsInstanceUID(t *testing.T) {
	newUID := uuid.Must(uuid.NewV7())
	var srv *testserver.Server
	srv = testserver.Start(t, testserver.WithResponder(func(agentUID string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
		reply := srv.DefaultReply(agentUID, msg)
		if agentUID != newUID.String() {
			reply.AgentIdentification = &protobufs.AgentIdentification{NewInstanceUid: newUID[:]}
		}
		return reply
	}))
	agent := newAgent(t, wsConfig(srv.WSURL()))
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)

	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
		return a.UID == newUID.String() && attr(a.Description.GetIdentifyingAttributes(), "service.instance.id") == newUID.String()
	})
	assert.Equal(t, newUID.String(), st.UID)
}

// TestAvailableComponentsNeedModuleInfo: without module info the capability
// is not advertised rather than failing the start.
func TestAvailableComponentsNeedModuleInfo(t *testing.T) {
	srv := testserver.Start(t)
	agent := newAgent(t, wsConfig(srv.WSURL()))
	require.NoError(t, agent.Start(context.Background(), componenttest.NewNopHost()))
	defer shutdown(t, agent)
	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })
	assert.False(t, st.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents))
}

// TestEffectiveConfigOptOut: reports_effective_config false sends none.
func TestEffectiveConfigOptOut(t *testing.T) {
	srv := testserver.Start(t)
	cfg := wsConfig(srv.WSURL())
	cfg.Capabilities.ReportsEffectiveConfig = false
	agent := newAgent(t, cfg)
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
	require.NoError(t, agent.Ready())
	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Health.GetHealthy() })
	assert.Nil(t, st.EffectiveConfig)
	assert.False(t, st.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig))
}

// TestRawConfigOptIn: the raw config travels under contrib's key "raw",
// redacted too, whether asked for by contrib's key or by our alias.
func TestRawConfigOptIn(t *testing.T) {
	for name, enable := range map[string]func(*Config){
		"reports_raw_config":                  func(c *Config) { c.ReportsRawConfig = true },
		"effective_config.include_unexpanded": func(c *Config) { c.EffectiveConfig.IncludeUnexpanded = true },
	} {
		t.Run(name, func(t *testing.T) {
			srv := testserver.Start(t)
			cfg := wsConfig(srv.WSURL())
			enable(cfg)
			agent := newAgent(t, cfg)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)
			require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
			st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
				return len(a.EffectiveConfig.GetConfigMap().GetConfigMap()) == 2
			})
			raw := string(st.EffectiveConfig.GetConfigMap().GetConfigMap()["raw"].GetBody())
			assert.Contains(t, raw, "collector.example.com")
			for _, s := range secrets {
				assert.False(t, strings.Contains(raw, s), "secret %q in the raw config", s)
			}
		})
	}
}

// TestReloadKeepsInstanceUID: a reload builds a new extension and core draws
// a new resource service.instance.id; the agent keeps its identity, the one
// the server assigned included.
func TestReloadKeepsInstanceUID(t *testing.T) {
	set := extensiontest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName("opamp", "reload")
	set.Resource.Attributes().PutStr("service.instance.id", uuid.NewString())
	first := newAgentWithSettings(t, wsConfig("ws://127.0.0.1:1/v1/opamp"), set)

	set2 := extensiontest.NewNopSettings(metadata.Type)
	set2.ID = set.ID
	set2.Resource.Attributes().PutStr("service.instance.id", uuid.NewString())
	second := newAgentWithSettings(t, wsConfig("ws://127.0.0.1:1/v1/opamp"), set2)
	assert.Equal(t, first.uid, second.uid)

	assigned := uuid.Must(uuid.NewV7())
	second.adoptInstanceUID(assigned[:])
	third := newAgentWithSettings(t, wsConfig("ws://127.0.0.1:1/v1/opamp"), set2)
	assert.Equal(t, assigned, third.uid)

	cfg := wsConfig("ws://127.0.0.1:1/v1/opamp")
	cfg.InstanceUID = "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d"
	fourth := newAgentWithSettings(t, cfg, set2)
	assert.Equal(t, cfg.InstanceUID, fourth.uid.String(), "a newly configured instance_uid wins")
}
