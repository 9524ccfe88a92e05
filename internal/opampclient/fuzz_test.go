package opampclient

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// FuzzReceive: whatever bytes arrive as a WebSocket message or an HTTP
// answer, the client's decoding and processing neither panic nor drift:
// the instance uid changes only to a valid uid the server assigned, a
// custom message reaches the handler only for an advertised capability, a
// hold stays bounded, and the next message still encodes with the uid and
// the capabilities.
func FuzzReceive(f *testing.F) {
	for _, m := range []*protobufs.ServerToAgent{
		{},
		{Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState | protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents)},
		{AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: bytes.Repeat([]byte{9}, 16)}},
		{AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: make([]byte, 16)}},
		{CustomMessage: customMessage("seed")},
		{CustomMessage: &protobufs.CustomMessage{Capability: "io.other", Data: []byte("x")}},
		{Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType_CommandType_Restart}},
		{ErrorResponse: &protobufs.ServerErrorResponse{
			Type:    protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable,
			Details: &protobufs.ServerErrorResponse_RetryInfo{RetryInfo: &protobufs.RetryInfo{RetryAfterNanoseconds: 1 << 62}},
		}},
		{ConnectionSettings: &protobufs.ConnectionSettingsOffers{Opamp: &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 1 << 40}}},
	} {
		raw, err := proto.Marshal(m)
		require.NoError(f, err)
		f.Add(append([]byte{0}, raw...)) // a WebSocket message
		f.Add(raw)                       // an HTTP answer
	}
	f.Add([]byte{1, 0})          // an unknown WebSocket header
	f.Add([]byte{0x80, 0x80, 0}) // an unfinished varint

	caps := allReports | protobufs.AgentCapabilities_AgentCapabilities_AcceptsRestartCommand |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat
	f.Fuzz(func(t *testing.T, data []byte) {
		c, h, _ := processClient(caps)
		c.logger = zap.NewNop()
		for _, decode := range []func([]byte) (*protobufs.ServerToAgent, error){decodeWS, decodeHTTP} {
			msg, err := decode(data)
			if err != nil {
				continue
			}
			before := c.InstanceUID()
			c.process(context.Background(), msg)
			after := c.InstanceUID()
			if after != before {
				require.Equal(t, msg.GetAgentIdentification().GetNewInstanceUid(), after[:], "the uid changed to one the server did not assign")
			}
			require.NotEqual(t, types.InstanceUid{}, after)
			for _, m := range h.handled.messages {
				if cm := m.CustomMessage; cm != nil {
					require.Equal(t, testCapability, cm.GetCapability(), "a custom message for a capability the agent does not advertise")
				}
			}
			require.LessOrEqual(t, time.Until(time.Unix(0, c.gate.holdUntil.Load())), maxRetryAfter)
			require.LessOrEqual(t, time.Duration(c.heartbeat.Load()), maxRetryAfter)

			o := c.report.next(true)
			require.Equal(t, after[:], o.msg.GetInstanceUid())
			require.Equal(t, uint64(caps), o.msg.GetCapabilities())
			_, err = proto.Marshal(o.msg)
			require.NoError(t, err)
			c.report.delivered(o)
		}
	})
}
