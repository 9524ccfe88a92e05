package testserver

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/open-telemetry/opamp-go/protobufs"
	"google.golang.org/protobuf/proto"
)

// DefaultSizeLimit is the specification's recommended default for every
// OpAMP message size limit (64 MiB), used by Raw for what it accepts.
const DefaultSizeLimit = 64 << 20

// errWSHeader: an OpAMP WebSocket message must start with a varint header.
var errWSHeader = errors.New("testserver: OpAMP WebSocket message without a header")

// EncodeWS frames msg as one OpAMP WebSocket message: the varint header
// (header, 0 in this version of the specification), then the protobuf.
// Tests pass another header to send a message a client must refuse.
func EncodeWS(header uint64, msg proto.Message) ([]byte, error) {
	buf := binary.AppendUvarint(nil, header)
	out, err := proto.MarshalOptions{}.MarshalAppend(buf, msg)
	if err != nil {
		return nil, fmt.Errorf("testserver: encode: %w", err)
	}
	return out, nil
}

// DecodeWS splits an OpAMP WebSocket message from an agent into its header
// and its AgentToServer message.
func DecodeWS(data []byte) (uint64, *protobufs.AgentToServer, error) {
	header, n := binary.Uvarint(data)
	if n <= 0 {
		return 0, nil, errWSHeader
	}
	msg := &protobufs.AgentToServer{}
	if err := proto.Unmarshal(data[n:], msg); err != nil {
		return header, nil, fmt.Errorf("testserver: decode AgentToServer: %w", err)
	}
	return header, msg, nil
}
