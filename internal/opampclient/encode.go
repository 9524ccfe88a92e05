package opampclient

import (
	"errors"
	"fmt"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/opampext/opampextension/internal/utf8fix"
)

// errEncode marks a message that could not be encoded at all. It is a
// fault of the reported state, never of the connection: the transports
// neither redial nor retry for it.
var errEncode = errors.New("cannot encode the message")

// encode marshals m after prefix. The state reaching the client is made
// valid UTF-8 where it enters (agent description, health, custom
// messages); should a string slip through, the message is not lost: a copy
// of it is repaired and sent, and should a part still fail to encode, that
// part is left out and the rest sent. Each is logged once per field. Only
// a message that fails without any of its parts returns errEncode.
func (c *Client) encode(prefix []byte, m *protobufs.AgentToServer) ([]byte, error) {
	data, err := marshalAppend(prefix, m)
	if err == nil {
		return data, nil
	}
	first := err
	fixed := proto.Clone(m).(*protobufs.AgentToServer)
	for _, path := range utf8fix.Message(fixed.ProtoReflect()) {
		c.logEncodeOnce(path, "Replaced invalid UTF-8 in the reported state with U+FFFD; the OpAMP server gets the rest", first)
	}
	if data, err = marshalAppend(prefix, fixed); err == nil {
		return data, nil
	}
	for _, name := range dropUnencodable(fixed.ProtoReflect()) {
		c.logEncodeOnce(name, "Left out a part of the reported state that cannot be encoded; the OpAMP server gets the rest", err)
	}
	if data, err = marshalAppend(prefix, fixed); err == nil {
		return data, nil
	}
	c.logEncodeOnce("", "Cannot encode a message to the OpAMP server; it is dropped", err)
	return nil, fmt.Errorf("%w: %w", errEncode, err)
}

func marshalAppend(prefix []byte, m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{}.MarshalAppend(prefix, m)
}

// dropUnencodable clears every top-level field of m that does not encode
// alone, and returns their names.
func dropUnencodable(m protoreflect.Message) []string {
	var bad []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		one := m.New()
		one.Set(fd, v)
		if _, err := proto.Marshal(one.Interface()); err != nil {
			bad = append(bad, fd)
		}
		return true
	})
	names := make([]string, 0, len(bad))
	for _, fd := range bad {
		m.Clear(fd)
		names = append(names, string(fd.Name()))
	}
	return names
}

// logEncodeOnce logs a warning the first time this client meets field.
func (c *Client) logEncodeOnce(field, msg string, err error) {
	first, full := c.encodeLog.First(field)
	if !first {
		return
	}
	level := zap.WarnLevel
	if full {
		level = zap.DebugLevel
	}
	c.logger.Log(level, msg+" (logged once per field)", zap.String("field", field), zap.Error(err))
}
