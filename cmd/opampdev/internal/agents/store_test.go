package agents

import (
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	uid1  = []byte{0x01, 0x92, 0xf3, 0xa5, 0x7c, 0x4e, 0x7b, 0x8a, 0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c, 0x7d}
	uid2  = []byte{0x02, 0x92, 0xf3, 0xa5, 0x7c, 0x4e, 0x7b, 0x8a, 0x9c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b, 0x6c, 0x7d}
	t0    = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	wsC   = Conn{ID: 1, Transport: TransportWebSocket, Remote: "127.0.0.1:5000"}
	httpC = Conn{ID: 7, Transport: TransportHTTP, Remote: "127.0.0.1:6000"}
)

func str(k, v string) *protobufs.KeyValue {
	return &protobufs.KeyValue{Key: k, Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: v}}}
}

func desc() *protobufs.AgentDescription {
	return &protobufs.AgentDescription{
		IdentifyingAttributes:    []*protobufs.KeyValue{str("service.version", "1.0"), str("service.name", "col")},
		NonIdentifyingAttributes: []*protobufs.KeyValue{str("os.type", "linux")},
	}
}

func components2(hash string) *protobufs.AvailableComponents {
	return &protobufs.AvailableComponents{
		Hash: []byte(hash),
		Components: map[string]*protobufs.ComponentDetails{
			"receivers": {SubComponentMap: map[string]*protobufs.ComponentDetails{
				"otlp": {Metadata: []*protobufs.KeyValue{str("code.namespace", "otlpreceiver v1")}},
				"nop":  {},
			}},
			"exporters": {SubComponentMap: map[string]*protobufs.ComponentDetails{"debug": {}}},
		},
	}
}

func config(body string) *protobufs.EffectiveConfig {
	return &protobufs.EffectiveConfig{ConfigMap: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
		"": {Body: []byte(body), ContentType: "text/yaml"},
	}}}
}

// first is a complete first report from a fresh client.
func first() *protobufs.AgentToServer {
	return &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 0, AgentDescription: desc(),
		Capabilities: uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus)}
}

func joined(r Report) string { return strings.Join(r.Lines, "\n") }

func TestApplySequence(t *testing.T) {
	type step struct {
		conn      Conn
		msg       *protobufs.AgentToServer
		wantFlags uint64
		want      []string // substrings of the joined lines
		wantNone  bool     // no lines at all
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"new agent with description", []step{{conn: wsC, msg: first(), want: []string{
			"connected via websocket from 127.0.0.1:5000 (new agent 0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d)",
			"capabilities: ReportsStatus",
			"identifying:     service.name=col, service.version=1.0",
			"non-identifying: os.type=linux",
		}}}},
		{"unknown agent without description asks for full state", []step{{
			conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 12},
			wantFlags: flagFullState, want: []string{"asking for full state"},
		}}},
		{"sequence gap asks for full state", []step{
			{conn: wsC, msg: first()},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 5}, wantFlags: flagFullState, want: []string{"sequence number 5 after 0"}},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 6}, wantNone: true},
		}},
		{"restart resets the sequence without asking", []step{
			{conn: wsC, msg: first()},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1}, wantNone: true},
			{conn: wsC, msg: first(), want: []string{"agent restarted"}},
		}},
		{"hash-only components are asked for, then stored", []step{
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, AgentDescription: desc(), AvailableComponents: &protobufs.AvailableComponents{Hash: []byte("h1")}},
				wantFlags: flagComponents, want: []string{"hash only"}},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1, AvailableComponents: components2("h1")},
				want: []string{"available components: exporters=1 receivers=2"}},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 2, AvailableComponents: &protobufs.AvailableComponents{Hash: []byte("h1")}}, wantNone: true},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 3, AvailableComponents: &protobufs.AvailableComponents{Hash: []byte("h2")}},
				wantFlags: flagComponents, want: []string{"hash only"}},
		}},
		{"effective config in full once, then size on change", []step{
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, AgentDescription: desc(), EffectiveConfig: config("a: 1\nb: 2\n")},
				want: []string{"effective config (10 bytes):\n  | a: 1\n  | b: 2"}},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1, EffectiveConfig: config("a: 1\nb: 2\n")}, wantNone: true},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 2, EffectiveConfig: config("a: 3\n")}, want: []string{"effective config changed (5 bytes)"}},
		}},
		{"an empty effective config does not use up the full print", []step{
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, AgentDescription: desc(), EffectiveConfig: &protobufs.EffectiveConfig{}},
				want: []string{"effective config: empty"}},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1, EffectiveConfig: config("a: 1\n")},
				want: []string{"effective config (5 bytes):\n  | a: 1"}},
		}},
		{"custom capabilities and messages", []step{
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, AgentDescription: desc(),
				CustomCapabilities: &protobufs.CustomCapabilities{Capabilities: []string{"io.b", "io.a"}}}, want: []string{"custom capabilities: io.a, io.b"}},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1,
				CustomCapabilities: &protobufs.CustomCapabilities{Capabilities: []string{"io.a", "io.b"}}}, wantNone: true},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 2,
				CustomMessage: &protobufs.CustomMessage{Capability: "io.a", Type: "ping", Data: []byte("xyz")}}, want: []string{`custom message io.a "ping" (3 bytes)`}},
		}},
		{"goodbye then reconnect over HTTP", []step{
			{conn: wsC, msg: first()},
			{conn: wsC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1, AgentDisconnect: &protobufs.AgentDisconnect{}}, want: []string{"agent said goodbye"}},
			{conn: httpC, msg: &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 2}, want: []string{"connected via http from 127.0.0.1:6000"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			for i, st := range tt.steps {
				r := s.Apply(t0, st.conn, st.msg)
				assert.Equalf(t, st.wantFlags, r.Flags, "step %d flags", i)
				if st.wantNone {
					assert.Emptyf(t, r.Lines, "step %d", i)
				}
				for _, w := range st.want {
					assert.Containsf(t, joined(r), w, "step %d", i)
				}
			}
		})
	}
}

func TestApplyKeepsState(t *testing.T) {
	s := NewStore()
	s.Apply(t0, wsC, first())
	s.Apply(t0, wsC, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1, AvailableComponents: components2("h"),
		EffectiveConfig: config("x: 1\n"), Health: &protobufs.ComponentHealth{Healthy: true, Status: "StatusOK"}})
	// A later partial report must not erase what it omits.
	r := s.Apply(t0.Add(time.Minute), wsC, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 2})
	assert.Empty(t, r.Lines)
	assert.Equal(t, "col/0192f3a5", r.Agent)

	got := s.Snapshot()
	require.Len(t, got, 1)
	a := got[0]
	assert.True(t, a.Connected)
	assert.Equal(t, t0, a.FirstSeen)
	assert.Equal(t, t0.Add(time.Minute), a.LastSeen)
	assert.Equal(t, uint64(3), a.Messages)
	assert.Equal(t, []Attribute{{"service.name", "col"}, {"service.version", "1.0"}}, a.Identifying)
	assert.Equal(t, []ConfigFile{{Name: "", ContentType: "text/yaml", Body: "x: 1\n"}}, a.EffectiveConfig)
	assert.Equal(t, []Component{{Type: "nop"}, {Type: "otlp", Metadata: []Attribute{{"code.namespace", "otlpreceiver v1"}}}}, a.AvailableComponents["receivers"])
	require.NotNil(t, a.Health)
	assert.Equal(t, "StatusOK", a.Health.Status)
}

func TestDisconnectAndSweep(t *testing.T) {
	s := NewStore()
	s.Apply(t0, wsC, first())
	s.Apply(t0, httpC, &protobufs.AgentToServer{InstanceUid: uid2, AgentDescription: desc()})

	// A close of an older connection does not take the agent offline.
	_, ok := s.Disconnect(FormatUID(uid1), wsC.ID+1)
	assert.False(t, ok)
	r, ok := s.Disconnect(FormatUID(uid1), wsC.ID)
	assert.True(t, ok)
	assert.Equal(t, []string{"disconnected"}, r.Lines)
	_, ok = s.Disconnect(FormatUID(uid1), wsC.ID)
	assert.False(t, ok, "second close reports nothing")

	assert.Empty(t, s.Sweep(t0.Add(30*time.Second), time.Minute), "polled recently")
	reps := s.Sweep(t0.Add(2*time.Minute), time.Minute)
	require.Len(t, reps, 1)
	assert.Equal(t, "col/0292f3a5", reps[0].Agent)
	assert.Equal(t, []string{"disconnected (no poll for 2m0s)"}, reps[0].Lines)

	snap := s.Snapshot()
	require.Len(t, snap, 2)
	assert.Equal(t, FormatUID(uid1), snap[0].InstanceUID, "sorted by uid")
	assert.False(t, snap[0].Connected)
	assert.False(t, snap[1].Connected)
}

func TestSnapshotIsNotAffectedByLaterReports(t *testing.T) {
	s := NewStore()
	s.Apply(t0, wsC, first())
	snap := s.Snapshot()
	d := desc()
	d.IdentifyingAttributes[1] = str("service.name", "renamed")
	s.Apply(t0, wsC, &protobufs.AgentToServer{InstanceUid: uid1, SequenceNum: 1, AgentDescription: d,
		AgentDisconnect: &protobufs.AgentDisconnect{}})

	assert.True(t, snap[0].Connected)
	assert.Equal(t, "col", snap[0].Name(), "stored slices are replaced, not edited in place")
	again := s.Snapshot()
	assert.False(t, again[0].Connected)
	assert.Equal(t, "renamed", again[0].Name())
}
