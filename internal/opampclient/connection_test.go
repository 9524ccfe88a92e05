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
