package opampextension

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap/zapcore"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/metadata"
)

// FuzzConfig: any YAML goes through the Collector's own decoding path
// without a panic, and whatever validates is usable: one transport, an
// endpoint whose scheme fits it, and an extension that can be created.
func FuzzConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		retrieved, err := confmap.NewRetrievedFromYAML(data)
		if err != nil {
			return
		}
		conf, err := retrieved.AsConf()
		if err != nil || conf == nil {
			return
		}
		cfg := createDefaultConfig().(*Config)
		if err := conf.Unmarshal(cfg); err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		if err := confmap.Validate(cfg); err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		require.NotNil(t, cfg.Server)
		require.True(t, (cfg.Server.WS == nil) != (cfg.Server.HTTP == nil), "a valid config has exactly one transport")
		schemes := []string{"ws", "wss"}
		if cfg.Server.HTTP != nil {
			schemes = []string{"http", "https"}
		}
		u, err := url.Parse(cfg.serverSettings().Endpoint)
		require.NoError(t, err, "a valid endpoint parses")
		assert.Contains(t, schemes, u.Scheme)
		assert.NotEmpty(t, u.Host)

		ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err, "a valid config must create the extension")
		require.NotNil(t, ext)
	})
}

const (
	fuzzCapability = "io.opampext.fuzz"
	fuzzQueue      = 4
)

// FuzzServerMessage: whatever the server sends, decoded and filtered as
// the client does (internal/opampclient's FuzzReceive covers that part),
// the extension neither panics nor drifts: the instance uid
// only changes to the valid uid the server assigned, the description
// follows it, queues stay bounded and nothing restarts before Ready.
func FuzzServerMessage(f *testing.F) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	f.Cleanup(func() { signal.Stop(hup) })

	agent, handler := startUnreachableAgent(f)
	registered := map[string]bool{fuzzCapability: true}

	f.Fuzz(func(t *testing.T, data []byte) {
		var msg protobufs.ServerToAgent
		if err := proto.Unmarshal(data, &msg); err != nil {
			return
		}
		before := agentUID(agent)
		assigned := deliverLikeClient(t, agent, &msg, registered)
		after := agentUID(agent)

		want := before
		if assigned != nil {
			if u, err := uuid.FromBytes(assigned.GetNewInstanceUid()); err == nil {
				want = u
			}
		}
		require.Equal(t, want, after, "instance uid")
		require.NotEqual(t, uuid.Nil, after)
		descUID := attr(agent.client.Load().AgentDescription().GetIdentifyingAttributes(), "service.instance.id")
		require.Equal(t, after.String(), descUID, "the description must follow the instance uid")
		require.LessOrEqual(t, len(handler.Message()), fuzzQueue)
		select {
		case <-hup:
			t.Fatal("a reload was triggered before the Collector was ready")
		default:
		}
	})
}

// deliverLikeClient mirrors the client's receive.go: a command (this agent
// accepts restarts) goes to onCommand and ends processing; otherwise a new
// instance uid is passed on when it is non-zero (the client also requires
// 16 bytes; other lengths are passed here to exercise our own check), a
// custom message only for a registered capability, and the remote config
// (which the client drops) to check it is ignored. It returns the agent
// identification handed to onMessage, if any.
func deliverLikeClient(t *testing.T, a *opampAgent, msg *protobufs.ServerToAgent, registered map[string]bool) *protobufs.AgentIdentification {
	ctx := context.Background()
	if msg.Command != nil {
		require.NoError(t, a.onCommand(ctx, msg.Command))
		return nil
	}
	md := &types.MessageData{
		RemoteConfig:       msg.RemoteConfig,
		CustomCapabilities: msg.CustomCapabilities,
	}
	if id := msg.AgentIdentification; id != nil && !isZero(id.NewInstanceUid) {
		md.AgentIdentification = id
	}
	if cm := msg.CustomMessage; cm != nil && registered[cm.Capability] {
		md.CustomMessage = cm
	}
	a.onMessage(ctx, md)
	return md.AgentIdentification
}

func isZero(b []byte) bool {
	return !slices.ContainsFunc(b, func(c byte) bool { return c != 0 })
}

// startUnreachableAgent starts an agent whose server port is closed: its
// client keeps retrying in the background while the fuzz target drives the
// callbacks directly.
func startUnreachableAgent(tb testing.TB) (*opampAgent, opampcustommessages.CustomCapabilityHandler) {
	tb.Helper()
	// Port 1 on loopback: nothing listens there, and unlike a freed
	// ephemeral port no test running alongside can take it.
	cfg := wsConfig("ws://127.0.0.1:1/v1/opamp")
	cfg.Capabilities.AcceptsRestartCommand = true
	agent, _ := newObservedAgent(tb, cfg, zapcore.FatalLevel)
	handler, err := agent.Register(fuzzCapability, opampcustommessages.WithMaxQueuedMessages(fuzzQueue))
	require.NoError(tb, err)
	require.NoError(tb, agent.Start(context.Background(), newTestHost()))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(tb, agent.Shutdown(ctx))
	})
	return agent, handler
}

// updateFuzzSeeds rewrites the committed seed corpora from the seeds below:
// go test -run TestFuzzSeedCorpus -fuzzseeds.update .
var updateFuzzSeeds = flag.Bool("fuzzseeds.update", false, "rewrite testdata/fuzz/<FuzzName>/ from the seeds in fuzz_test.go")

// TestFuzzSeedCorpus keeps testdata/fuzz in step with the seeds here, in Go's
// corpus file format, so that `go test` replays them and `make fuzz` starts
// from them. Other files there are inputs the fuzzer found: keep them.
func TestFuzzSeedCorpus(t *testing.T) {
	for name, seeds := range map[string]map[string][]byte{
		"FuzzConfig":        configSeeds(),
		"FuzzServerMessage": serverMessageSeeds(t),
	} {
		dir := filepath.Join("testdata", "fuzz", name)
		for seed, data := range seeds {
			path := filepath.Join(dir, seed)
			want := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data)
			if *updateFuzzSeeds {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, os.WriteFile(path, want, 0o644))
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err, "run with -fuzzseeds.update")
			assert.Equal(t, string(want), string(got), "%s is stale; run with -fuzzseeds.update", path)
		}
	}
}

func configSeeds() map[string][]byte {
	return map[string][]byte{
		"ws-minimal":   []byte("server:\n  ws:\n    endpoint: ws://127.0.0.1:4320/v1/opamp\n"),
		"http-polling": []byte("server:\n  http:\n    endpoint: https://opamp.example.com/v1/opamp\n    polling_interval: 10s\n"),
		"supervisor": []byte("server:\n  ws:\n    endpoint: ws://127.0.0.1:41877/v1/opamp\n    tls:\n      insecure: true\n" +
			"instance_uid: 0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d\nppid: 4242\nppid_poll_interval: 5s\n" +
			"capabilities:\n  reports_available_components: true\n"),
		"all-keys": []byte("server:\n  ws:\n    endpoint: wss://opamp.example.com:4320/v1/opamp\n" +
			"    tls:\n      insecure_skip_verify: true\n    headers:\n      X-Tenant: team-a\n      Authorization: Bearer x\n" +
			"    auth: bearertokenauth/opamp\n    proxy:\n      url: http://proxy.internal:3128\n      headers:\n        Proxy-Authorization: Basic eA==\n" +
			"    enable_compression: true\ninstance_uid: 01ARZ3NDEKTSV4RRFFQ69G5FAV\n" +
			"capabilities:\n  reports_effective_config: false\n  reports_health: false\n  accepts_restart_command: true\n  reports_heartbeat: true\n" +
			"heartbeat_interval: 15s\nagent_description:\n  non_identifying_attributes:\n    deployment.environment.name: prod\n  include_resource_attributes: true\n" +
			"effective_config:\n  include_unexpanded: true\n"),
		"both-transports": []byte("server:\n  ws:\n    endpoint: ws://a/v1/opamp\n  http:\n    endpoint: http://a/v1/opamp\n"),
		"wrong-scheme":    []byte("server:\n  http:\n    endpoint: ws://a/v1/opamp\n"),
		"tls-on-plain":    []byte("server:\n  ws:\n    endpoint: ws://a/v1/opamp\n    tls:\n      ca_file: /nonexistent/ca.pem\n"),
		"bad-types":       []byte("server: [1, 2]\ninstance_uid: {a: b}\nppid: -1\nppid_poll_interval: -5s\nheartbeat_interval: x\n"),
		"env-reference":   []byte("server:\n  ws:\n    endpoint: ${env:OPAMP_ENDPOINT}\n    headers:\n      X-Key: ${env:KEY}\n"),
	}
}

func serverMessageSeeds(t *testing.T) map[string][]byte {
	uid := uuid.MustParse("0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d")
	msgs := map[string]*protobufs.ServerToAgent{
		"empty":            {},
		"new-uid":          {AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: uid[:]}},
		"short-uid":        {AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: []byte{1, 2, 3}}},
		"custom-message":   {CustomMessage: &protobufs.CustomMessage{Capability: fuzzCapability, Type: "ping", Data: []byte("hello")}},
		"custom-other-cap": {CustomMessage: &protobufs.CustomMessage{Capability: "io.other", Type: "t"}},
		"remote-config": {RemoteConfig: &protobufs.AgentRemoteConfig{ConfigHash: []byte("h"), Config: &protobufs.AgentConfigMap{
			ConfigMap: map[string]*protobufs.AgentConfigFile{"": {Body: []byte("receivers: {}"), ContentType: "text/yaml"}},
		}}},
		"restart":         {Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType_CommandType_Restart}},
		"unknown-command": {Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType(42)}},
		"flags-and-caps": {
			Flags:              uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState) | 1<<33,
			CustomCapabilities: &protobufs.CustomCapabilities{Capabilities: []string{fuzzCapability, "io.other"}},
		},
		"error-and-settings": {
			ErrorResponse:      &protobufs.ServerErrorResponse{Type: protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable, ErrorMessage: "later"},
			ConnectionSettings: &protobufs.ConnectionSettingsOffers{Opamp: &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 1}},
		},
	}
	out := make(map[string][]byte, len(msgs))
	for name, m := range msgs {
		m.InstanceUid = uid[:]
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		require.NoError(t, err)
		out[name] = b
	}
	return out
}
