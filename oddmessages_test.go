package opampextension

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/testserver"
)

// newObservedAgent is newAgent with every log entry at level or above
// captured, so that tests can assert what an operator would see.
func newObservedAgent(t testing.TB, cfg *Config, level zapcore.Level) (*opampAgent, *observer.ObservedLogs) {
	t.Helper()
	require.NoError(t, cfg.Validate())
	core, logs := observer.New(level)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	set.Resource.Attributes().PutStr("service.name", "otelcol-test")
	set.Resource.Attributes().PutStr("service.version", "1.2.3")
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	require.NoError(t, err)
	return ext.(*opampAgent), logs
}

// agentUID reads the extension's current instance uid under its lock.
func agentUID(a *opampAgent) uuid.UUID {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.uid
}

// withUnknownField returns msg carrying a field number no OpAMP version
// defines, as a newer server might send.
func withUnknownField(msg *protobufs.ServerToAgent) *protobufs.ServerToAgent {
	raw := protowire.AppendTag(nil, 9999, protowire.BytesType)
	raw = protowire.AppendBytes(raw, []byte("from the future"))
	msg.ProtoReflect().SetUnknown(raw)
	return msg
}

const (
	bigCapability  = "io.opampext.test.big"
	hugeCapability = "io.opampext.test.huge"
	syncCapability = "io.opampext.test.sync"
	bigQueue       = 3
	hugeSize       = 8 << 20
)

// oddMessages are server messages a conforming agent must survive without
// changing its identity or flooding its logs.
func oddMessages() []struct {
	name string
	msg  *protobufs.ServerToAgent
} {
	small := func(i int) *protobufs.ServerToAgent {
		return &protobufs.ServerToAgent{CustomMessage: &protobufs.CustomMessage{Capability: bigCapability, Type: "small", Data: []byte{byte(i)}}}
	}
	return []struct {
		name string
		msg  *protobufs.ServerToAgent
	}{
		{"empty", &protobufs.ServerToAgent{}},
		{"unknown flags", &protobufs.ServerToAgent{Flags: 1<<40 | 1<<7}},
		{"unknown command", &protobufs.ServerToAgent{Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType(99)}}},
		{"short instance uid", &protobufs.ServerToAgent{AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: []byte{1, 2, 3}}}},
		{"long instance uid", &protobufs.ServerToAgent{AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: bytes.Repeat([]byte{7}, 17)}}},
		{"zero instance uid", &protobufs.ServerToAgent{AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: make([]byte, 16)}}},
		{"remote config", &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{
			ConfigHash: []byte("h1"),
			Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
				"": {Body: []byte("receivers: {}"), ContentType: "text/yaml"},
			}},
		}}},
		{"unknown field", withUnknownField(&protobufs.ServerToAgent{})},
		{"overflow 1", small(1)},
		{"overflow 2", small(2)},
		{"overflow 3", small(3)},
		{"overflow 4", small(4)},
		{"overflow 5", small(5)},
		{"unregistered capability", &protobufs.ServerToAgent{CustomMessage: &protobufs.CustomMessage{Capability: "io.opampext.test.nobody", Type: "t", Data: []byte("d")}}},
		{"error response", &protobufs.ServerToAgent{ErrorResponse: &protobufs.ServerErrorResponse{
			Type: protobufs.ServerErrorResponseType_ServerErrorResponseType_BadRequest, ErrorMessage: "odd test error",
		}}},
		// Last: the test server deep-copies everything it sent on every
		// look, which an 8 MiB message makes slow.
		{"huge custom message", &protobufs.ServerToAgent{CustomMessage: &protobufs.CustomMessage{
			Capability: hugeCapability, Type: "huge", Data: bytes.Repeat([]byte("x"), hugeSize),
		}}},
	}
}

// TestOddServerMessages: against a real server over both transports, every
// odd message leaves the agent running, reporting, with the same identity,
// bounded queues and at most one log line (never an error) per message.
func TestOddServerMessages(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			srv := testserver.Start(t)
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
				cfg.Server.HTTP.PollingInterval = 50 * time.Millisecond
			}
			cfg.Capabilities.AcceptsRestartCommand = true // unknown commands reach onCommand
			agent, logs := newObservedAgent(t, cfg, zapcore.InfoLevel)
			big, err := agent.Register(bigCapability, opampcustommessages.WithMaxQueuedMessages(bigQueue))
			require.NoError(t, err)
			huge, err := agent.Register(hugeCapability)
			require.NoError(t, err)
			syncH, err := agent.Register(syncCapability)
			require.NoError(t, err)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)

			uid := agentUID(agent)
			srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
				return a.UID == uid.String() && len(a.CustomCapabilities.GetCapabilities()) == 3
			})
			startupLines := logs.Len()

			for i, tc := range oddMessages() {
				sendAndWait(t, srv, uid.String(), tc.msg, tr == "http")
				// A later health change still reaches the server.
				probe := fmt.Sprintf("probe %d after %s", i, tc.name)
				agent.Changed(otlpRecv, componentstatus.NewRecoverableErrorEvent(errors.New(probe)))
				srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
					leaf := a.Health.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap()["receiver:otlp"]
					return a.UID == uid.String() && leaf.GetLastError() == probe
				})
			}

			// Messages are handled in order: once this one arrives, all odd
			// ones have been handled.
			sendAndWait(t, srv, uid.String(), &protobufs.ServerToAgent{CustomMessage: &protobufs.CustomMessage{Capability: syncCapability, Type: "sync"}}, tr == "http")
			select {
			case <-syncH.Message():
			case <-time.After(waitTime):
				t.Fatal("the sync custom message never arrived")
			}

			assert.Equal(t, uid, agentUID(agent), "the instance uid changed")
			assert.Equal(t, [16]byte(uid), [16]byte(agent.client.Load().InstanceUID()), "the client's instance uid changed")
			assert.Equal(t, []string{uid.String()}, srv.AgentUIDs(), "the server saw another identity")

			// The registered queue is bounded: full, never more, the rest dropped.
			ch := big.Message()
			assert.Equal(t, bigQueue, cap(ch))
			assert.Equal(t, bigQueue, len(ch), "the small messages should have filled the queue")
			// The huge one is over custom_messages.max_message_size (4 MiB by
			// default): dropped, and counted with the queue overflow.
			assert.Equal(t, uint64(5-bigQueue)+1, agent.registry.Dropped())
			assert.Equal(t, []byte{1}, (<-ch).GetData(), "the oldest message should be kept")
			assert.Empty(t, huge.Message(), "a message over the size limit must not be delivered")
			assert.Equal(t, 1, logs.FilterMessageSnippet("larger than the limit").FilterLevelExact(zapcore.WarnLevel).Len())

			odd := logs.All()[startupLines:]
			assert.LessOrEqual(t, len(odd), len(oddMessages()), "more than one line per odd message: %v", entryTexts(odd))
			for _, e := range odd {
				assert.Less(t, e.Level, zapcore.ErrorLevel, "error-level line: %s", e.Message)
			}
		})
	}
}

// sendAndWait sends msg and waits until the server has put it on the wire.
// Over HTTP the message rides on the reply to a later poll; one reply may
// have been built between reading the count and queueing msg, so the
// second reply after is the first one certain to carry it.
func sendAndWait(t *testing.T, srv *testserver.Server, uid string, msg *protobufs.ServerToAgent, polling bool) {
	t.Helper()
	before := len(srv.Agent(uid).Sent)
	require.NoError(t, srv.Send(uid, msg))
	want := before + 1
	if polling {
		want = before + 2
	}
	srv.WaitFor(t, waitTime, func(s *testserver.Server) bool { return len(s.Agent(uid).Sent) >= want })
}

func entryTexts(es []observer.LoggedEntry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s %s %v", e.Level, e.Message, e.ContextMap()))
	}
	return out
}
