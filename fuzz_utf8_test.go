package opampextension

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/testserver"
)

// FuzzReportedStrings feeds arbitrary bytes into every string the agent
// reports: the agent description (a configured attribute, as
// `site: ${env:BAD}` gives, and a resource attribute), a component's error
// text, the effective config (a value and a key), a custom capability and
// a custom message type. Whatever the bytes, a real server over the
// transport picked by the last input gets the description, the health
// tree with the component's error, the effective config, the custom
// message and then heartbeats (polls over HTTP), and the client never
// counts a failed connection (issue 10: one invalid UTF-8 byte made every
// message fail to encode and the client redial for ever).
func FuzzReportedStrings(f *testing.F) {
	f.Add("caf\xe9", "HTTP 500: caf\xe9", "endpoint \xff", "io.example.\xfe", "t\xe9", false)
	f.Add("ok", "ok", "ok", "io.example.ok", "ok", true)
	f.Add("\xed\xa0\x80", "\xc0\xaf", "{\"api_key\":\"\xff\"}", "\x80", "\xf8\x88\x80\x80\x80", true)
	f.Add("", "", "", "", "", false)
	srv := testserver.Start(f)

	f.Fuzz(func(t *testing.T, attr, errText, cfgValue, capability, msgType string, overHTTP bool) {
		cfg := wsConfig(srv.WSURL())
		if overHTTP {
			cfg = httpConfig(srv.HTTPURL())
			cfg.Server.HTTP.PollingInterval = 50 * time.Millisecond
		}
		cfg.Capabilities.ReportsHeartbeat = true
		cfg.HeartbeatInterval = 50 * time.Millisecond
		cfg.AgentDescription.NonIdentifyingAttributes = map[string]string{"site": attr, "k" + attr: "v"}
		cfg.AgentDescription.IncludeResourceAttributes = true
		core, logs := observer.New(zapcore.WarnLevel)
		set := extensiontest.NewNopSettings(metadata.Type)
		// Its own id: the process-wide uid keeper must not hand this agent
		// the uid (and so the server's record) of an earlier input.
		set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprintf("fuzzutf8-%d", agentSeq.Add(1)))
		set.Logger = zap.New(core)
		set.Resource.Attributes().PutStr("fuzz.attr", attr)
		agent := newAgentWithSettings(t, cfg, set)

		if capability == "" {
			capability = "io.example.empty"
		}
		handler, err := agent.Register(capability)
		require.NoError(t, err)
		require.NoError(t, agent.Start(context.Background(), newTestHost()))
		defer shutdown(t, agent)
		require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, map[string]any{
			"receivers": map[string]any{"otlp": map[string]any{"endpoint": cfgValue, "x" + cfgValue: 1}},
		})))
		agent.Changed(otlpRecv, componentstatus.NewRecoverableErrorEvent(errors.New(errText)))
		require.NoError(t, agent.Ready())
		require.Eventually(t, func() bool {
			_, err := handler.SendMessage(msgType, []byte(attr))
			return err == nil
		}, waitTime, 10*time.Millisecond, "the custom message is queued")

		uid := agentUID(agent).String()
		var reported int
		st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
			leaf := a.Health.GetComponentHealthMap()["pipeline:traces"].GetComponentHealthMap()["receiver:otlp"]
			if a.UID != uid || a.Description == nil || leaf == nil || a.EffectiveConfig == nil || len(a.CustomMessages) == 0 {
				return false
			}
			if reported == 0 {
				reported = a.MessageCount
			}
			return a.MessageCount >= reported+2 // heartbeats (polls) keep coming
		})
		require.NotEmpty(t, st.Description.GetNonIdentifyingAttributes())
		for _, m := range st.Messages {
			_, err := proto.Marshal(m)
			require.NoError(t, err, "the server got what encodes")
		}
		for _, e := range logs.All() {
			require.NotContains(t, e.Message, "Cannot reach the OpAMP server", "an encode error is not a transport failure")
		}
	})
}
