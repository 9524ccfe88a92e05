package agents

import (
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
)

func TestFormatUID(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, "(empty)"},
		{uid1, "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d"},
		{[]byte{0xab, 0xcd}, "abcd"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, FormatUID(tt.in))
	}
}

func TestCapabilityNames(t *testing.T) {
	tests := []struct {
		mask uint64
		want []string
	}{
		{0, nil},
		{uint64(protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth | protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus),
			[]string{"ReportsStatus", "ReportsHealth"}},
		{1 << 40, []string{"0x10000000000"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, capabilityNames(tt.mask))
	}
}

func TestAnyValueString(t *testing.T) {
	tests := []struct {
		name string
		in   *protobufs.AnyValue
		want string
	}{
		{"nil", nil, ""},
		{"string", &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: "s"}}, "s"},
		{"bool", &protobufs.AnyValue{Value: &protobufs.AnyValue_BoolValue{BoolValue: true}}, "true"},
		{"int", &protobufs.AnyValue{Value: &protobufs.AnyValue_IntValue{IntValue: -3}}, "-3"},
		{"double", &protobufs.AnyValue{Value: &protobufs.AnyValue_DoubleValue{DoubleValue: 1.5}}, "1.5"},
		{"bytes", &protobufs.AnyValue{Value: &protobufs.AnyValue_BytesValue{BytesValue: []byte{1, 255}}}, "01ff"},
		{"array", &protobufs.AnyValue{Value: &protobufs.AnyValue_ArrayValue{ArrayValue: &protobufs.ArrayValue{
			Values: []*protobufs.AnyValue{{Value: &protobufs.AnyValue_IntValue{IntValue: 1}}, {Value: &protobufs.AnyValue_StringValue{StringValue: "b"}}},
		}}}, "[1, b]"},
		{"kvlist sorted", &protobufs.AnyValue{Value: &protobufs.AnyValue_KvlistValue{KvlistValue: &protobufs.KeyValueList{
			Values: []*protobufs.KeyValue{str("z", "1"), str("a", "2")},
		}}}, "{a=2, z=1}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, anyValueString(tt.in))
		})
	}
}

func TestHealthConversion(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	got := health(&protobufs.ComponentHealth{
		Healthy: false, Status: "StatusRecoverableError", LastError: "boom",
		StartTimeUnixNano: uint64(start.UnixNano()),
		ComponentHealthMap: map[string]*protobufs.ComponentHealth{
			"pipeline:traces": {Healthy: true, Status: "StatusOK"},
			"broken":          nil,
		},
	})
	assert.False(t, got.Healthy)
	assert.Equal(t, "boom", got.LastError)
	assert.Equal(t, &start, got.StartTime)
	assert.Nil(t, got.StatusTime, "zero time means not reported")
	assert.Equal(t, map[string]*Health{"pipeline:traces": {Healthy: true, Status: "StatusOK"}}, got.Components)
	assert.Nil(t, health(nil))
}

func TestCountLine(t *testing.T) {
	m := map[string][]Component{"receivers": {{Type: "a"}, {Type: "b"}}, "connectors": nil, "exporters": {{Type: "c"}}}
	assert.Equal(t, "connectors=0 exporters=1 receivers=2", countLine(m))
}
