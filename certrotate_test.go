package opampextension

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

// TestCertificateBySigningRequest: an agent without a client certificate
// asks a server that takes connection settings requests for one; the
// server's CA signs the CSR and offers the certificate (no key: the key
// never left the agent) with a server that demands it; the agent moves
// there over mutual TLS and reports APPLIED.
func TestCertificateBySigningRequest(t *testing.T) {
	ca := testcerts.New(t)
	mtls := testserver.Start(t, testserver.WithTLS(ca.ServerTLSConfig(true)))
	caPEM, err := os.ReadFile(ca.CAFile)
	require.NoError(t, err)

	var srv *testserver.Server
	csrs := make(chan []byte, 4)
	srv = testserver.Start(t, testserver.WithResponder(func(uid string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
		reply := srv.DefaultReply(uid, msg)
		reply.Capabilities = uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus |
			protobufs.ServerCapabilities_ServerCapabilities_AcceptsConnectionSettingsRequest)
		if csr := msg.GetConnectionSettingsRequest().GetOpamp().GetCertificateRequest().GetCsr(); csr != nil {
			csrs <- csr
		}
		return reply
	}))
	cfg := offersConfig("ws", srv.WSURL(), t.TempDir())
	cfg.ConnectionSettings.CertificateRequest = true
	agent := newAgent(t, cfg)
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	uid := agent.uid.String()

	var csr []byte
	select {
	case csr = <-csrs:
	case <-time.After(waitTime):
		t.Fatal("the agent sent no certificate signing request")
	}
	cert := ca.SignCSR(t, csr, 2*time.Hour)
	require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
		Hash: []byte("cert-1"),
		Opamp: &protobufs.OpAMPConnectionSettings{
			DestinationEndpoint: mtls.WSURL(),
			Certificate:         &protobufs.TLSCertificate{Cert: cert},
			Tls:                 &protobufs.TLSConnectionSettings{CaPemContents: string(caPEM)},
		},
	}}))
	mtls.WaitAgent(t, waitTime, statusIs("cert-1", csApplied))
	mtls.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Connected })
	select {
	case again := <-csrs:
		t.Fatalf("a second request after the certificate was applied (%d bytes)", len(again))
	case <-time.After(300 * time.Millisecond):
	}
}
