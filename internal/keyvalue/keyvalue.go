// Package keyvalue converts the Collector's attribute values (pcommon)
// into OpAMP's AnyValue and KeyValue, one way for every report that
// carries attributes (the agent description, component health).
package keyvalue

import (
	"sort"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// String is s as an AnyValue.
func String(s string) *protobufs.AnyValue {
	return &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: s}}
}

// Value converts v keeping its scalar type, so a server sees an int as an
// int. Maps, slices and empty values are sent in their string form (JSON
// for maps and slices), which every OpAMP server can display.
func Value(v pcommon.Value) *protobufs.AnyValue {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return String(v.Str())
	case pcommon.ValueTypeInt:
		return &protobufs.AnyValue{Value: &protobufs.AnyValue_IntValue{IntValue: v.Int()}}
	case pcommon.ValueTypeDouble:
		return &protobufs.AnyValue{Value: &protobufs.AnyValue_DoubleValue{DoubleValue: v.Double()}}
	case pcommon.ValueTypeBool:
		return &protobufs.AnyValue{Value: &protobufs.AnyValue_BoolValue{BoolValue: v.Bool()}}
	case pcommon.ValueTypeBytes:
		return &protobufs.AnyValue{Value: &protobufs.AnyValue_BytesValue{BytesValue: v.Bytes().AsRaw()}}
	default:
		return String(v.AsString())
	}
}

// FromMap converts m, sorted by key so that the same attributes always
// encode the same; nil when m is empty, or the zero Map (an event made
// without componentstatus.NewEvent has one, and its methods panic).
func FromMap(m pcommon.Map) []*protobufs.KeyValue {
	if m == (pcommon.Map{}) || m.Len() == 0 {
		return nil
	}
	out := make([]*protobufs.KeyValue, 0, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		out = append(out, &protobufs.KeyValue{Key: k, Value: Value(v)})
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
