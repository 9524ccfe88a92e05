package opampclient

import (
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestConnectionSettingsRequest: a CSR goes once, and only to a server
// that announced it takes connection settings requests.
func TestConnectionSettingsRequest(t *testing.T) {
	t.Parallel()
	req := &protobufs.ConnectionSettingsRequest{Opamp: &protobufs.OpAMPConnectionSettingsRequest{
		CertificateRequest: &protobufs.CertificateRequest{Csr: []byte("csr")},
	}}
	withCSR := func(a *testserver.AgentState) int {
		n := 0
		for _, m := range a.Messages {
			if m.GetConnectionSettingsRequest() != nil {
				n++
			}
		}
		return n
	}
	for _, takes := range []bool{true, false} {
		t.Run(map[bool]string{true: "server takes them", false: "server does not"}[takes], func(t *testing.T) {
			t.Parallel()
			var srv *testserver.Server
			srv = testserver.Start(t, testserver.WithResponder(func(uid string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
				reply := srv.DefaultReply(uid, msg)
				reply.Capabilities = uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus)
				if takes {
					reply.Capabilities |= uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsConnectionSettingsRequest)
				}
				return reply
			}))
			h := newHarness(srv.WSURL())
			h.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings
			c := h.start(t)
			require.NoError(t, c.RequestConnectionSettings(req))
			// Later changes go out; the request with them only if taken.
			for i := range 3 {
				require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Status: string(rune('a' + i))}))
				srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.Health.GetStatus() == string(rune('a'+i)) })
			}
			time.Sleep(50 * time.Millisecond)
			a := srv.Agent(h.uid())
			if takes {
				assert.Equal(t, 1, withCSR(a), "sent once")
				assert.True(t, c.ServerAcceptsConnectionSettingsRequest())
			} else {
				assert.Zero(t, withCSR(a))
			}
		})
	}
	t.Run("capability off", func(t *testing.T) {
		t.Parallel()
		srv := testserver.Start(t)
		c := newHarness(srv.WSURL()).start(t)
		assert.ErrorIs(t, c.RequestConnectionSettings(req), errNotAccepting)
	})
}

// TestAcceptOffers: of an offer, only the parts whose capability the agent
// advertises reach the handler; none at all when nothing is left.
func TestAcceptOffers(t *testing.T) {
	t.Parallel()
	all := &protobufs.ConnectionSettingsOffers{
		Hash:       []byte("h"),
		Opamp:      &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ws://x/v1/opamp"},
		OwnMetrics: &protobufs.TelemetryConnectionSettings{DestinationEndpoint: "http://m"},
		OwnLogs:    &protobufs.TelemetryConnectionSettings{DestinationEndpoint: "http://l"},
		OwnTraces:  &protobufs.TelemetryConnectionSettings{DestinationEndpoint: "http://t"},
	}
	const (
		opamp   = protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings
		metrics = protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnMetrics
		logs    = protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnLogs
		traces  = protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnTraces
	)
	for _, tc := range []struct {
		name string
		caps protobufs.AgentCapabilities
		want []string // parts kept
	}{
		{"none advertised", 0, nil},
		{"opamp only", opamp, []string{"opamp"}},
		{"own metrics only", metrics, []string{"metrics"}},
		{"all", opamp | metrics | logs | traces, []string{"opamp", "metrics", "logs", "traces"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newReportState([16]byte{1}, tc.caps).acceptOffers(all)
			if tc.want == nil {
				assert.Nil(t, got)
				return
			}
			var kept []string
			if got.GetOpamp() != nil {
				kept = append(kept, "opamp")
			}
			if got.GetOwnMetrics() != nil {
				kept = append(kept, "metrics")
			}
			if got.GetOwnLogs() != nil {
				kept = append(kept, "logs")
			}
			if got.GetOwnTraces() != nil {
				kept = append(kept, "traces")
			}
			assert.Equal(t, tc.want, kept)
			assert.Equal(t, []byte("h"), got.GetHash())
		})
	}
}
