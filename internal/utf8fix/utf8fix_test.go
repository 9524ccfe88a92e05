package utf8fix

import (
	"fmt"
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"ascii", "cafe", "cafe", false},
		{"utf-8", "café", "café", false},
		{"latin-1", "caf\xe9", "caf\uFFFD", true},
		{"run of bad bytes", "a\xff\xfe\xfdb", "a\uFFFDb", true},
		{"truncated sequence", "x\xe2\x82", "x\uFFFD", true},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := String(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.changed, changed)
		})
	}
}

func TestWarnerWarnsOncePerField(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	w := NewWarner(zap.New(core))
	for range 5 {
		assert.Equal(t, "HTTP 500: caf\uFFFD", w.Valid("health receiver:otlp last_error", "HTTP 500: caf\xe9"))
	}
	assert.Equal(t, "ok", w.Valid("other", "ok"), "valid text is no news")
	w.Valid("agent_description site", "\xff")

	warned := logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, warned, 2)
	assert.Equal(t, "health receiver:otlp last_error", warned[0].ContextMap()["field"])
	assert.Equal(t, "agent_description site", warned[1].ContextMap()["field"])

	var nilWarner *Warner
	assert.Equal(t, "\uFFFD", nilWarner.Valid("f", "\xff"), "a nil Warner still repairs")
}

func TestOnceIsBounded(t *testing.T) {
	var o Once
	for i := range maxRemembered {
		first, full := o.First(fmt.Sprint(i))
		require.True(t, first)
		require.False(t, full)
	}
	first, full := o.First("one more")
	assert.True(t, first)
	assert.True(t, full)
	first, _ = o.First("one more")
	assert.True(t, first, "not remembered past the bound")
	first, _ = o.First("0")
	assert.False(t, first)
}

func TestMessageRepairsEveryString(t *testing.T) {
	bad := "caf\xe9"
	m := &protobufs.AgentToServer{
		AgentDescription: &protobufs.AgentDescription{
			NonIdentifyingAttributes: []*protobufs.KeyValue{
				{Key: "site", Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: bad}}},
				{Key: bad, Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_IntValue{IntValue: 1}}},
			},
		},
		Health: &protobufs.ComponentHealth{
			LastError: bad,
			ComponentHealthMap: map[string]*protobufs.ComponentHealth{
				"pipeline:traces": {Status: "StatusRecoverableError", LastError: "HTTP 500: " + bad},
				bad:               {Healthy: true},
			},
		},
		CustomCapabilities: &protobufs.CustomCapabilities{Capabilities: []string{"ok", bad}},
		CustomMessage:      &protobufs.CustomMessage{Capability: "ok", Type: bad, Data: []byte(bad)},
	}
	_, err := proto.Marshal(m)
	require.Error(t, err, "the fixture must not encode as it is")

	fixed := Message(m.ProtoReflect())
	_, err = proto.Marshal(m)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{
		"agent_description.non_identifying_attributes[0].value.string_value",
		"agent_description.non_identifying_attributes[1].key",
		"health.last_error",
		`health.component_health_map["pipeline:traces"].last_error`,
		`health.component_health_map["caf�"] (key)`,
		"custom_capabilities.capabilities[1]",
		"custom_message.type",
	}, fixed)
	assert.Equal(t, "HTTP 500: caf\uFFFD", m.Health.ComponentHealthMap["pipeline:traces"].LastError)
	assert.Contains(t, m.Health.ComponentHealthMap, "caf\uFFFD")
	assert.Equal(t, []byte(bad), m.CustomMessage.Data, "bytes are not text: left alone")

	assert.Empty(t, Message(m.ProtoReflect()), "nothing left to repair")
}
