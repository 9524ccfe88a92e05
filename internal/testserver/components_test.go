package testserver

import (
	"testing"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

var reportComponents = uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportAvailableComponents)

func components(hash string) *protobufs.AvailableComponents {
	return &protobufs.AvailableComponents{
		Hash: []byte(hash),
		Components: map[string]*protobufs.ComponentDetails{
			"receivers": {SubComponentMap: map[string]*protobufs.ComponentDetails{"otlp": {}}},
		},
	}
}

// The opamp-go client first reports only the hash; the default reply asks for
// the full map, which the client then sends.
func TestReportAvailableComponentsFlag(t *testing.T) {
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			s := Start(t)
			want := components("h1")
			a := startAgent(t, agentSetup{transport: tr, url: urlFor(s, tr), components: want})

			st := s.WaitAgent(t, waitTimeout, func(st *AgentState) bool {
				return st.AvailableComponents != nil && len(st.Sent) == st.MessageCount
			})
			assert.Equal(t, a.uid, st.UID)
			assert.True(t, proto.Equal(want, st.AvailableComponents), "got %v", st.AvailableComponents)
			assert.Equal(t, []byte("h1"), st.AvailableComponentsHash)

			first := st.Messages[0].GetAvailableComponents()
			require.NotNil(t, first)
			assert.Empty(t, first.GetComponents(), "the client starts with the hash only")
			assert.NotZero(t, st.Sent[0].GetFlags()&reportComponents, "hash-only report is answered with the flag")
			for i, m := range st.Messages {
				if len(m.GetAvailableComponents().GetComponents()) > 0 {
					assert.Zero(t, st.Sent[i].GetFlags()&reportComponents, "reply %d to the full map", i)
				}
			}
		})
	}
}

func TestNeedsFullComponents(t *testing.T) {
	hashOnly := func(h string) *protobufs.AgentToServer {
		return &protobufs.AgentToServer{AvailableComponents: &protobufs.AvailableComponents{Hash: []byte(h)}}
	}
	tests := []struct {
		name string
		seen *protobufs.AvailableComponents
		msg  *protobufs.AgentToServer
		want bool
	}{
		{"no components in message", nil, &protobufs.AgentToServer{}, false},
		{"hash only, nothing seen", nil, hashOnly("h1"), true},
		{"hash only, same full map seen", components("h1"), hashOnly("h1"), false},
		{"hash only, other full map seen", components("h1"), hashOnly("h2"), true},
		{"full map", nil, &protobufs.AgentToServer{AvailableComponents: components("h1")}, false},
		{"empty hash", nil, hashOnly(""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &agentRecord{state: AgentState{AvailableComponents: tt.seen}}
			assert.Equal(t, tt.want, rec.needsFullComponents(tt.msg))
		})
	}
}
