package certrotate

import (
	"context"
	"crypto/tls"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client"
	clienttypes "github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/persist"
	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

const waitFor = 10 * time.Second

// csrServer is an OpAMP server that accepts connection settings requests:
// it signs a CSR whose CommonName is the sending agent's uid, and offers
// the certificate back without a key, as the specification describes.
func csrServer(t *testing.T, ca *testCA) *testserver.Server {
	t.Helper()
	now := time.Now()
	return testserver.Start(t, testserver.WithResponder(func(uid string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
		reply := &protobufs.ServerToAgent{
			InstanceUid: msg.GetInstanceUid(),
			Capabilities: uint64(protobufs.ServerCapabilities_ServerCapabilities_AcceptsStatus |
				protobufs.ServerCapabilities_ServerCapabilities_AcceptsConnectionSettingsRequest),
		}
		csr := msg.GetConnectionSettingsRequest().GetOpamp().GetCertificateRequest().GetCsr()
		if csr == nil {
			return reply
		}
		cert, err := ca.issue(csr, certOpts{notBefore: now.Add(-time.Minute), notAfter: now.Add(24 * time.Hour)})
		if err != nil || parseCN(csr) != uid {
			return reply // an unusable or foreign request gets no offer
		}
		reply.ConnectionSettings = &protobufs.ConnectionSettingsOffers{
			Hash:  []byte("csr-answer"),
			Opamp: &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: cert, CaCert: ca.pem()}},
		}
		return reply
	}))
}

// startClient connects an opamp-go WebSocket client that accepts OpAMP
// connection settings and hands every offered certificate to offers.
func startClient(t *testing.T, url string, uid uuid.UUID, tlsCfg *tls.Config, offers chan<- *protobufs.TLSCertificate) client.OpAMPClient {
	t.Helper()
	c := client.NewWebSocket(nil)
	require.NoError(t, c.SetAgentDescription(&protobufs.AgentDescription{IdentifyingAttributes: []*protobufs.KeyValue{{
		Key: "service.name", Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: "certrotate-test"}},
	}}}))
	require.NoError(t, c.Start(context.Background(), clienttypes.StartSettings{
		OpAMPServerURL: url,
		TLSConfig:      tlsCfg,
		InstanceUid:    clienttypes.InstanceUid(uid),
		Capabilities: protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
			protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings,
		Callbacks: clienttypes.Callbacks{
			OnOpampConnectionSettings: func(_ context.Context, s *protobufs.OpAMPConnectionSettings) error {
				if s.GetCertificate() != nil {
					offers <- s.GetCertificate()
				}
				return nil
			},
		},
	}))
	t.Cleanup(func() { assert.NoError(t, c.Stop(context.Background())) })
	return c
}

// TestTheCSRThroughARealServer runs the whole round over real sockets: the
// CSR goes to an opamp-go server in an AgentToServer message, the server
// signs it and offers the certificate back, Complete pairs it with the
// agent's key, and the pair opens a mutual-TLS OpAMP connection to a
// server that trusts the CA.
func TestTheCSRThroughARealServer(t *testing.T) {
	ca, uid := newCA(t), uuid.Must(uuid.NewV7())
	dir, err := persist.NewDir(t.TempDir())
	require.NoError(t, err)
	r, err := New(Settings{Identity: Identity{InstanceUID: uid.String(), HostName: "localhost"}, ComponentID: "opamp", Store: dir, RenewBefore: time.Hour})
	require.NoError(t, err)

	offers := make(chan *protobufs.TLSCertificate, 4)
	c := startClient(t, csrServer(t, ca).WSURL(), uid, nil, offers)
	req, why, err := r.Request(nil)
	require.NoError(t, err)
	require.NotNil(t, req, why)
	require.NoError(t, c.RequestConnectionSettings(req))

	var offered *protobufs.TLSCertificate
	select {
	case offered = <-offers:
	case <-time.After(waitFor):
		t.Fatal("the server offered no certificate")
	}
	assert.Empty(t, offered.GetPrivateKey(), "the server sent a key: the agent's never left it")
	certPEM, keyPEM, err := r.Complete(offered.GetCert())
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	require.NoError(t, err)

	// The certificate opens a connection to a server that requires one.
	bundle := testcerts.New(t)
	srvTLS := bundle.ServerTLSConfig(true)
	srvTLS.ClientCAs = pool(ca.cert)
	mtls := testserver.Start(t, testserver.WithTLS(srvTLS))
	startClient(t, mtls.WSURL(), uid, &tls.Config{RootCAs: bundle.CAPool(), Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, offers)
	mtls.WaitFor(t, waitFor, func(s *testserver.Server) bool { return slices.Contains(s.AgentUIDs(), uid.String()) })
	require.NoError(t, r.Applied())

	got, _, ok := r.Accepted()
	require.True(t, ok)
	assert.Equal(t, certPEM, got)
	req, why, err = r.Request(parseCert(t, certPEM))
	require.NoError(t, err)
	assert.Nil(t, req, "a request after success: %s", why)
}
