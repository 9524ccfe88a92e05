package keyvalue

import (
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/protobuf/proto"
)

func TestValue(t *testing.T) {
	slice := pcommon.NewValueSlice()
	slice.Slice().AppendEmpty().SetStr("a")
	tests := []struct {
		name string
		in   pcommon.Value
		want *protobufs.AnyValue
	}{
		{"string", pcommon.NewValueStr("s"), String("s")},
		{"int", pcommon.NewValueInt(-7), &protobufs.AnyValue{Value: &protobufs.AnyValue_IntValue{IntValue: -7}}},
		{"double", pcommon.NewValueDouble(1.5), &protobufs.AnyValue{Value: &protobufs.AnyValue_DoubleValue{DoubleValue: 1.5}}},
		{"bool", pcommon.NewValueBool(true), &protobufs.AnyValue{Value: &protobufs.AnyValue_BoolValue{BoolValue: true}}},
		{"bytes", func() pcommon.Value { v := pcommon.NewValueBytes(); v.Bytes().FromRaw([]byte{1, 2}); return v }(),
			&protobufs.AnyValue{Value: &protobufs.AnyValue_BytesValue{BytesValue: []byte{1, 2}}}},
		{"slice: its JSON", slice, String(`["a"]`)},
		{"empty", pcommon.NewValueEmpty(), String("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Value(tt.in)
			assert.True(t, proto.Equal(tt.want, got), "got %v", got)
		})
	}
}

func TestFromMapSortedAndEmpty(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("z", "last")
	m.PutInt("a", 1)
	m.PutBool("m", false)
	got := FromMap(m)
	keys := make([]string, 0, len(got))
	for _, kv := range got {
		keys = append(keys, kv.GetKey())
	}
	assert.Equal(t, []string{"a", "m", "z"}, keys)
	assert.Nil(t, FromMap(pcommon.NewMap()))
	assert.Nil(t, FromMap(pcommon.Map{}), "the zero Map")
}
