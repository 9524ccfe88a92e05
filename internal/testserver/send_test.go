package testserver

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

func remoteConfig(body string) *protobufs.AgentRemoteConfig {
	return &protobufs.AgentRemoteConfig{
		Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
			"": {Body: []byte(body), ContentType: "text/yaml"},
		}},
		ConfigHash: []byte(body),
	}
}

func TestSendWebSocketDeliversNow(t *testing.T) {
	s := Start(t)
	a := startAgent(t, agentSetup{transport: TransportWebSocket, url: s.WSURL()})
	s.WaitAgent(t, waitTimeout, func(st *AgentState) bool { return st.Connected })

	msg := &protobufs.ServerToAgent{RemoteConfig: remoteConfig("receivers: {}")}
	require.NoError(t, s.Send(a.uid, msg))
	assert.Nil(t, msg.InstanceUid, "Send must not modify the caller's message")

	got := a.waitReceived(t, func(m *types.MessageData) bool { return m.RemoteConfig != nil })
	assert.True(t, proto.Equal(msg.RemoteConfig, got.RemoteConfig))

	st := s.Agent(a.uid)
	last := st.Sent[len(st.Sent)-1]
	assert.Equal(t, uuid.MustParse(a.uid), uuid.UUID(last.InstanceUid))
	assert.True(t, proto.Equal(msg.RemoteConfig, last.RemoteConfig))
}

func TestSendHTTPQueuedUntilNextPoll(t *testing.T) {
	s := Start(t)
	// No polling in the test's lifetime: only the agent's own changes cause a request.
	a := startAgent(t, agentSetup{transport: TransportHTTP, url: s.HTTPURL(), pollInterval: time.Hour})
	first := s.WaitAgent(t, waitTimeout, func(st *AgentState) bool { return len(st.Sent) == 1 })

	require.NoError(t, s.Send(a.uid, &protobufs.ServerToAgent{RemoteConfig: remoteConfig("old")}))
	require.NoError(t, s.Send(a.uid, &protobufs.ServerToAgent{
		RemoteConfig: remoteConfig("new"),
		Flags:        uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState),
	}))
	assert.Len(t, s.Agent(a.uid).Sent, len(first.Sent), "nothing is sent before the agent polls")

	// The agent's next request carries the queued messages back in its reply.
	require.NoError(t, a.client.SetAgentDescription(description("changed")))
	got := a.waitReceived(t, func(m *types.MessageData) bool { return m.RemoteConfig != nil })
	assert.Equal(t, []byte("new"), got.RemoteConfig.ConfigHash, "the later remote config wins")

	// ReportFullState makes the agent send its description again.
	st := s.WaitAgent(t, waitTimeout, func(st *AgentState) bool {
		return st.MessageCount >= 3 && st.Messages[st.MessageCount-1].AgentDescription != nil
	})
	reply := st.Sent[1]
	assert.Equal(t, uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState), reply.Flags)
	assert.Equal(t, []byte("new"), reply.RemoteConfig.ConfigHash)
	assert.Nil(t, st.Sent[2].RemoteConfig, "the queue is drained once")
}

func TestSendErrors(t *testing.T) {
	s := Start(t)
	status, _ := post(t, s, http.Header{}, &protobufs.AgentToServer{InstanceUid: []byte("0123456789abcdef")})
	require.Equal(t, http.StatusOK, status)
	known := uuid.UUID([]byte("0123456789abcdef")).String()

	tests := []struct {
		name    string
		uid     string
		msg     *protobufs.ServerToAgent
		wantErr string
	}{
		{"nil message", known, nil, "nil message"},
		{"malformed uid", "agent-1", &protobufs.ServerToAgent{}, `agent uid "agent-1"`},
		{"unknown agent", uuid.NewString(), &protobufs.ServerToAgent{}, "unknown agent"},
		{"known agent", known, &protobufs.ServerToAgent{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Send(tt.uid, tt.msg)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestWithResponder(t *testing.T) {
	var s *Server
	s = Start(t, WithResponder(func(uid string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
		reply := s.DefaultReply(uid, msg)
		reply.RemoteConfig = remoteConfig(uid)
		return reply
	}))
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			a := startAgent(t, agentSetup{transport: tr, url: urlFor(s, tr)})
			got := a.waitReceived(t, func(m *types.MessageData) bool { return m.RemoteConfig != nil })
			assert.Equal(t, []byte(a.uid), got.RemoteConfig.ConfigHash, "the responder saw the agent's uid")
		})
	}
}

func TestMergeReply(t *testing.T) {
	uid := []byte("0123456789abcdef")
	tests := []struct {
		name     string
		dst, src *protobufs.ServerToAgent
		want     *protobufs.ServerToAgent
	}{
		{
			name: "flags and capabilities are OR-ed",
			dst:  &protobufs.ServerToAgent{InstanceUid: uid, Flags: 1, Capabilities: 4},
			src:  &protobufs.ServerToAgent{InstanceUid: uid, Flags: 2, Capabilities: 8},
			want: &protobufs.ServerToAgent{InstanceUid: uid, Flags: 3, Capabilities: 12},
		},
		{
			name: "a set field replaces, not merges",
			dst:  &protobufs.ServerToAgent{RemoteConfig: remoteConfig("a")},
			src:  &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{ConfigHash: []byte("b")}},
			want: &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{ConfigHash: []byte("b")}},
		},
		{
			name: "absent fields keep dst",
			dst:  &protobufs.ServerToAgent{RemoteConfig: remoteConfig("a"), Flags: 1},
			src:  &protobufs.ServerToAgent{CustomMessage: &protobufs.CustomMessage{Type: "t"}},
			want: &protobufs.ServerToAgent{RemoteConfig: remoteConfig("a"), Flags: 1, CustomMessage: &protobufs.CustomMessage{Type: "t"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := proto.CloneOf(tt.src)
			mergeReply(tt.dst, tt.src)
			assert.True(t, proto.Equal(tt.want, tt.dst), "got %v", tt.dst)
			assert.True(t, proto.Equal(src, tt.src), "src unchanged")
		})
	}
}
