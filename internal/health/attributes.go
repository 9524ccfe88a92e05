package health

import (
	"fmt"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/opampext/opampextension/internal/keyvalue"
	"github.com/opampext/opampextension/internal/utf8fix"
)

// attributesField is ComponentHealth.attributes (repeated KeyValue), which
// the specification added in June 2026 for what a component's status
// event carries. opamp-go v0.23.0, the newest that builds here, predates
// it, so a leaf's attributes travel as the message's unknown fields:
// proto.Marshal writes them as they are, and they are field 7 on the
// wire, read by any server whose protobufs know it (and kept by those
// that do not, the Supervisor's relay among them).
const attributesField protowire.Number = 7

// encodeAttributes encodes an event's attributes as field 7, sorted by key
// so that the same attributes are the same bytes (a repeat is no change);
// nil when there are none. Strings that are not valid UTF-8 are repaired
// (a message with one does not encode); repaired names them.
func encodeAttributes(m pcommon.Map) (b []byte, repaired []string, err error) {
	for _, kv := range keyvalue.FromMap(m) {
		repaired = append(repaired, utf8fix.Message(kv.ProtoReflect())...)
		one, err := proto.MarshalOptions{Deterministic: true}.Marshal(kv)
		if err != nil {
			return nil, repaired, fmt.Errorf("attribute %q: %w", kv.GetKey(), err)
		}
		b = protowire.AppendTag(b, attributesField, protowire.BytesType)
		b = protowire.AppendBytes(b, one)
	}
	return b, repaired, nil
}

// Attributes decodes the attributes field of ch: for tests, and for a
// reader whose protobufs predate it, as ours do.
func Attributes(ch *protobufs.ComponentHealth) ([]*protobufs.KeyValue, error) {
	var out []*protobufs.KeyValue
	b := ch.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		if num != attributesField || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		kv := &protobufs.KeyValue{}
		if err := proto.Unmarshal(v, kv); err != nil {
			return nil, fmt.Errorf("component health attribute: %w", err)
		}
		out = append(out, kv)
	}
	return out, nil
}
