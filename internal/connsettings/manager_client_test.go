package connsettings

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/persist"
	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

const waitFor = 10 * time.Second

// TestManagerWithClient drives the Manager with the real client and two
// real OpAMP servers: an offer moves the agent from a plain server to a
// mutual-TLS one with a header; a bad certificate and a dead endpoint
// are then FAILED while the agent stays where it is.
func TestManagerWithClient(t *testing.T) {
	p, expired := newPEMs(t), newPEMs(t, testcerts.Expired())
	a := testserver.Start(t)
	b := testserver.Start(t, testserver.WithTLS(p.b.ServerTLSConfig(true)))
	dir, err := persist.NewDir(t.TempDir())
	require.NoError(t, err)

	uid := uuid.New()
	var m atomic.Pointer[Manager]
	client, err := opampclient.Start(context.Background(), opampclient.Settings{
		Logger:      zap.NewNop(),
		URL:         a.WSURL(),
		InstanceUID: types.InstanceUid(uid),
		Capabilities: protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
			protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings |
			protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus,
		Description: &protobufs.AgentDescription{IdentifyingAttributes: []*protobufs.KeyValue{{
			Key: "service.name", Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: "agent"}},
		}}},
		Handler: opampclient.Handler{
			OnConnectionSettings: func(_ context.Context, o *protobufs.ConnectionSettingsOffers) { m.Load().Receive(o) },
			OnConnectionReverted: func(_, _ opampclient.Connection) { m.Load().Reverted() },
		},
	})
	require.NoError(t, err)
	mgr := NewManager(Settings{Connector: client, Store: dir, ComponentID: "opamp", Fingerprint: "fp", TryTimeout: 2 * time.Second})
	m.Store(mgr)
	mgr.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, mgr.Shutdown(ctx))
		require.NoError(t, client.Stop(ctx))
	})
	a.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.Connected })

	send := func(srv *testserver.Server, hash string, o *protobufs.OpAMPConnectionSettings) {
		t.Helper()
		require.NoError(t, srv.Send(uid.String(), &protobufs.ServerToAgent{
			ConnectionSettings: &protobufs.ConnectionSettingsOffers{Hash: []byte(hash), Opamp: o},
		}))
	}
	status := func(srv *testserver.Server, hash string, want protobufs.ConnectionSettingsStatuses) *protobufs.ConnectionSettingsStatus {
		t.Helper()
		s := srv.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool {
			cs := s.ConnectionSettingsStatus
			return string(cs.GetLastConnectionSettingsHash()) == hash && cs.GetStatus() == want
		})
		return s.ConnectionSettingsStatus
	}

	send(a, "move", &protobufs.OpAMPConnectionSettings{
		DestinationEndpoint: b.WSURL(),
		Headers:             headers("Authorization", "Bearer moved"),
		Certificate:         &protobufs.TLSCertificate{Cert: p.clientCert, PrivateKey: p.clientKey},
		Tls:                 &protobufs.TLSConnectionSettings{CaPemContents: string(p.ca)},
	})
	status(b, "move", protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED)
	assert.Equal(t, b.WSURL(), client.Connection().URL)
	found := false
	for _, h := range b.RequestHeaders() {
		found = found || h.Get("Authorization") == "Bearer moved"
	}
	assert.True(t, found, "the offered header reached the new server")
	rec, err := Load(dir, "opamp", "fp")
	require.NoError(t, err)
	require.NotNil(t, rec)
	assert.Equal(t, "move", string(rec.Hash))

	send(b, "expired", &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: expired.serverCert, PrivateKey: expired.serverKey}})
	st := status(b, "expired", protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED)
	assert.True(t, strings.HasPrefix(st.GetErrorMessage(), "opamp.certificate: "+ErrExpired.Error()), st.GetErrorMessage())

	start := time.Now()
	send(b, "dead", &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "wss://127.0.0.1:1/v1/opamp"})
	st = status(b, "dead", protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED)
	assert.Contains(t, st.GetErrorMessage(), "the offered connection failed: ")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, b.WSURL(), client.Connection().URL, "still on the server that worked")
	b.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.Connected })

	rec, err = Load(dir, "opamp", "fp")
	require.NoError(t, err)
	assert.Equal(t, "move", string(rec.Hash), "failed offers are not kept")
}
