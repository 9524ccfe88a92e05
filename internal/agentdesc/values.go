package agentdesc

import (
	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func stringValue(s string) *protobufs.AnyValue {
	return &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: s}}
}

func stringKV(key, value string) *protobufs.KeyValue {
	return &protobufs.KeyValue{Key: key, Value: stringValue(value)}
}

// anyValue converts a resource attribute value keeping its scalar type, so
// a server sees an int as an int. Maps, slices and empty values are sent
// in their string form (JSON for maps and slices), which every OpAMP
// server can display.
func anyValue(v pcommon.Value) *protobufs.AnyValue {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return stringValue(v.Str())
	case pcommon.ValueTypeInt:
		return &protobufs.AnyValue{Value: &protobufs.AnyValue_IntValue{IntValue: v.Int()}}
	case pcommon.ValueTypeDouble:
		return &protobufs.AnyValue{Value: &protobufs.AnyValue_DoubleValue{DoubleValue: v.Double()}}
	case pcommon.ValueTypeBool:
		return &protobufs.AnyValue{Value: &protobufs.AnyValue_BoolValue{BoolValue: v.Bool()}}
	case pcommon.ValueTypeBytes:
		return &protobufs.AnyValue{Value: &protobufs.AnyValue_BytesValue{BytesValue: v.Bytes().AsRaw()}}
	default:
		return stringValue(v.AsString())
	}
}
