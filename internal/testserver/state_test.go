package testserver

import (
	"net/http"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

func TestApplyKeepsAbsentFields(t *testing.T) {
	desc := description("a")
	cfg := &protobufs.EffectiveConfig{ConfigMap: &protobufs.AgentConfigMap{}}
	health := &protobufs.ComponentHealth{Healthy: true}
	custom := &protobufs.CustomCapabilities{Capabilities: []string{"io.x"}}
	msgs := []*protobufs.AgentToServer{
		{SequenceNum: 0, Capabilities: 5, AgentDescription: desc, EffectiveConfig: cfg, Health: health,
			CustomCapabilities: custom, AvailableComponents: components("h1"), Flags: 1},
		{SequenceNum: 1, AvailableComponents: &protobufs.AvailableComponents{Hash: []byte("h2")},
			CustomMessage: &protobufs.CustomMessage{Capability: "io.x", Type: "t", Data: []byte("d")}},
		{SequenceNum: 2, Health: &protobufs.ComponentHealth{Healthy: false, LastError: "boom"}, AgentDisconnect: &protobufs.AgentDisconnect{}},
	}
	rec := &agentRecord{}
	for i, m := range msgs {
		rec.apply(m, i == 0)
	}
	st := rec.snapshot()

	tests := []struct {
		name      string
		got, want any
	}{
		{"description kept", proto.Equal(desc, st.Description), true},
		{"effective config kept", proto.Equal(cfg, st.EffectiveConfig), true},
		{"custom capabilities kept", proto.Equal(custom, st.CustomCapabilities), true},
		{"latest health", st.Health.GetLastError(), "boom"},
		{"full map kept", proto.Equal(components("h1"), st.AvailableComponents), true},
		{"latest hash", string(st.AvailableComponentsHash), "h2"},
		{"capabilities kept when absent", st.Capabilities, uint64(5)},
		{"flags of latest message", st.Flags, uint64(0)},
		{"sequence numbers", st.SequenceNums, []uint64{0, 1, 2}},
		{"custom messages", len(st.CustomMessages), 1},
		{"message count", st.MessageCount, 3},
		{"messages", len(st.Messages), 3},
		{"bytes", st.Bytes, proto.Size(msgs[0]) + proto.Size(msgs[1]) + proto.Size(msgs[2])},
		{"disconnected", st.Disconnected, true},
		{"transport of latest", st.Transport, TransportHTTP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.got) })
	}
}

func TestSnapshotIsIndependent(t *testing.T) {
	rec := &agentRecord{}
	rec.state.Headers = []http.Header{{"A": {"1"}}}
	rec.apply(&protobufs.AgentToServer{AgentDescription: description("a")}, true)

	snap := rec.snapshot()
	snap.Description.IdentifyingAttributes = nil
	snap.Messages[0].SequenceNum = 99
	snap.Headers[0].Set("A", "2")
	snap.SequenceNums[0] = 99

	again := rec.snapshot()
	assert.True(t, proto.Equal(description("a"), again.Description))
	assert.Zero(t, again.Messages[0].SequenceNum)
	assert.Equal(t, "1", again.Headers[0].Get("A"))
	assert.Equal(t, []uint64{0}, again.SequenceNums)
}

func TestSnapshotOfEmptyRecord(t *testing.T) {
	st := (&agentRecord{state: AgentState{UID: "u"}}).snapshot()
	require.NotNil(t, st)
	assert.Equal(t, "u", st.UID)
	assert.Nil(t, st.Description)
	assert.Nil(t, st.AvailableComponents)
	assert.False(t, st.Connected)
}
