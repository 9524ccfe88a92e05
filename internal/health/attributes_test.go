package health

import (
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"google.golang.org/protobuf/proto"
)

func withAttrs(st componentstatus.Status, set func(m pcommon.Map)) *componentstatus.Event {
	m := pcommon.NewMap()
	set(m)
	return componentstatus.NewEvent(st, componentstatus.WithAttributes(m))
}

// TestLeafAttributes: a status event's attributes reach the leaf as
// ComponentHealth.attributes (field 7), sorted and typed, through an
// encode and decode as a server does it; nodes above carry none; the
// same attributes again are no change, other ones are.
func TestLeafAttributes(t *testing.T) {
	c := newCapture()
	r := New(Settings{Sink: c.sink})
	r.Start()
	defer shutdown(t, r)
	id := inst(component.KindExporter, "otlp", "traces")
	set := func(m pcommon.Map) {
		m.PutStr("endpoint", "collector:4317")
		m.PutInt("queue_size", 42)
		m.PutBool("retrying", true)
		m.PutStr("bad", "caf\xe9") // Latin-1: repaired, not refused
	}
	r.Changed(id, withAttrs(componentstatus.StatusRecoverableError, set))
	sent := c.next(t)

	wire, err := proto.Marshal(sent)
	require.NoError(t, err)
	got := &protobufs.ComponentHealth{}
	require.NoError(t, proto.Unmarshal(wire, got))
	node := got.ComponentHealthMap["pipeline:traces"]
	leaf := node.ComponentHealthMap["exporter:otlp"]
	require.NotNil(t, leaf)
	attrs, err := Attributes(leaf)
	require.NoError(t, err)
	keys := make([]string, 0, len(attrs))
	for _, kv := range attrs {
		keys = append(keys, kv.GetKey())
	}
	assert.Equal(t, []string{"bad", "endpoint", "queue_size", "retrying"}, keys)
	assert.Equal(t, "caf\uFFFD", attrs[0].GetValue().GetStringValue())
	assert.Equal(t, "collector:4317", attrs[1].GetValue().GetStringValue())
	assert.EqualValues(t, 42, attrs[2].GetValue().GetIntValue())
	assert.True(t, attrs[3].GetValue().GetBoolValue())
	for _, ch := range []*protobufs.ComponentHealth{got, node} {
		none, err := Attributes(ch)
		require.NoError(t, err)
		assert.Empty(t, none, "attributes are the leaf's own")
	}

	r.Changed(id, withAttrs(componentstatus.StatusRecoverableError, set)) // the same: nothing
	r.Changed(id, withAttrs(componentstatus.StatusRecoverableError, func(m pcommon.Map) { set(m); m.PutInt("queue_size", 43) }))
	again := c.next(t)
	attrs, err = Attributes(again.ComponentHealthMap["pipeline:traces"].ComponentHealthMap["exporter:otlp"])
	require.NoError(t, err)
	require.Len(t, attrs, 4)
	assert.EqualValues(t, 43, attrs[2].GetValue().GetIntValue())
	select {
	case extra := <-c.ch:
		t.Fatalf("the repeat was sent: %v", extra)
	default:
	}
}

// TestAttributesSkipOtherUnknownFields: a reader finds field 7 among
// others it does not know.
func TestAttributesSkipOtherUnknownFields(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("k", "v")
	b, repaired, err := encodeAttributes(m)
	require.NoError(t, err)
	assert.Empty(t, repaired)
	other := []byte{0x48, 0x01} // field 9, varint 1
	ch := &protobufs.ComponentHealth{}
	ch.ProtoReflect().SetUnknown(append(other, b...))
	got, err := Attributes(ch)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "k", got[0].GetKey())

	none, _, err := encodeAttributes(pcommon.NewMap())
	require.NoError(t, err)
	assert.Nil(t, none)
}
