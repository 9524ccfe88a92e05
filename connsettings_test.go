package opampextension

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/opampext/opampextension/internal/connsettings"
	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/testserver"
)

const (
	csApplied  = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED
	csFailed   = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_FAILED
	csApplying = protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING
)

// offersConfig accepts connection-settings offers, keeping them in dir.
func offersConfig(tr, endpoint, dir string) *Config {
	cfg := wsConfig(endpoint)
	if tr == "http" {
		cfg = httpConfig(endpoint)
		cfg.Server.HTTP.PollingInterval = 100 * time.Millisecond
	}
	cfg.Capabilities.AcceptsOpAMPConnectionSettings = true
	cfg.Storage.Directory = dir
	cfg.ConnectionSettings.TryTimeout = 2 * time.Second
	return cfg
}

func urlFor(srv *testserver.Server, tr string) string {
	if tr == "http" {
		return srv.HTTPURL()
	}
	return srv.WSURL()
}

func endpointOffer(hash, endpoint string) *protobufs.ServerToAgent {
	return &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
		Hash:  []byte(hash),
		Opamp: &protobufs.OpAMPConnectionSettings{DestinationEndpoint: endpoint},
	}}
}

func statusIs(hash string, st protobufs.ConnectionSettingsStatuses) func(a *testserver.AgentState) bool {
	return func(a *testserver.AgentState) bool {
		s := a.ConnectionSettingsStatus
		return s != nil && string(s.GetLastConnectionSettingsHash()) == hash && s.GetStatus() == st
	}
}

// TestOfferMovesAgentAndSurvivesRestart: an endpoint offer moves the agent
// to another server, which hears APPLIED; a restarted agent goes straight
// there (from the state directory, file 0600); a new local endpoint in the
// config wins over it again.
func TestOfferMovesAgentAndSurvivesRestart(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			a, b := testserver.Start(t), testserver.Start(t)
			dir := t.TempDir()
			// One agent restarted: the same component id each time.
			id := component.MustNewIDWithName(metadata.Type.String(), "moved")
			restarted := func(cfg *Config) *opampAgent {
				set := extensiontest.NewNopSettings(metadata.Type)
				set.ID = id
				return newAgentWithSettings(t, cfg, set)
			}
			agent := restarted(offersConfig(tr, urlFor(a, tr), dir))
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			uid := agent.uid.String()
			a.WaitAgent(t, waitTime, func(s *testserver.AgentState) bool { return s.UID == uid && s.Description != nil })
			assert.True(t, a.Agent(uid).HasCapability(protobufs.AgentCapabilities_AgentCapabilities_AcceptsOpAMPConnectionSettings))
			assert.True(t, a.Agent(uid).HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus))

			require.NoError(t, a.Send(uid, endpointOffer("move-1", urlFor(b, tr))))
			b.WaitAgent(t, waitTime, statusIs("move-1", csApplied))
			sawApplying := false
			for _, m := range a.Agent(uid).Messages {
				if m.GetConnectionSettingsStatus().GetStatus() == csApplying {
					sawApplying = true
				}
			}
			assert.True(t, sawApplying, "the old server heard APPLYING before the move")
			info, err := os.Stat(filepath.Join(dir, connsettings.Key(agent.set.ID.String())))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
			shutdown(t, agent)

			// A restart comes back to b at once, and says the offer holds.
			bBefore := b.Agent(uid).MessageCount
			again := restarted(offersConfig(tr, urlFor(a, tr), dir))
			require.NoError(t, again.Start(context.Background(), newTestHost()))
			b.WaitAgent(t, waitTime, func(s *testserver.AgentState) bool { return s.MessageCount > bBefore && s.Description != nil })
			assert.Equal(t, csApplied, b.Agent(uid).ConnectionSettingsStatus.GetStatus())
			// The same offer again changes nothing: no APPLYING, no move.
			applying := func() int {
				n := 0
				for _, m := range b.Agent(uid).Messages {
					if m.GetConnectionSettingsStatus().GetStatus() == csApplying {
						n++
					}
				}
				return n
			}
			before := applying()
			require.NoError(t, b.Send(uid, endpointOffer("move-1", urlFor(b, tr))))
			time.Sleep(500 * time.Millisecond)
			assert.Equal(t, before, applying(), "a resent offer was applied again")
			shutdown(t, again)

			// A new local endpoint is the user's word: it wins.
			c := testserver.Start(t)
			third := restarted(offersConfig(tr, urlFor(c, tr), dir))
			require.NoError(t, third.Start(context.Background(), newTestHost()))
			defer shutdown(t, third)
			c.WaitAgent(t, waitTime, func(s *testserver.AgentState) bool { return s.UID == uid && s.Description != nil })
		})
	}
}

// TestBadOffersLeaveAgentConnected: an offer that cannot work is FAILED
// with why, and the agent stays on its server.
func TestBadOffersLeaveAgentConnected(t *testing.T) {
	dead := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer func() { _ = ln.Close() }()
		return ln.Addr().String()
	}
	refusing := testserver.Start(t, testserver.WithOnConnecting(func(*http.Request) (bool, int) { return false, http.StatusForbidden }))
	cases := []struct {
		name  string
		offer func(tr string) *protobufs.OpAMPConnectionSettings
	}{
		{"bad endpoint", func(string) *protobufs.OpAMPConnectionSettings {
			return &protobufs.OpAMPConnectionSettings{DestinationEndpoint: "ftp://nowhere"}
		}},
		{"other transport", func(tr string) *protobufs.OpAMPConnectionSettings {
			other := map[string]string{"ws": "http", "http": "ws"}[tr]
			return &protobufs.OpAMPConnectionSettings{DestinationEndpoint: other + "://127.0.0.1:1/v1/opamp"}
		}},
		{"refused", func(tr string) *protobufs.OpAMPConnectionSettings {
			return &protobufs.OpAMPConnectionSettings{DestinationEndpoint: urlFor(refusing, tr)}
		}},
		{"bad certificate", func(string) *protobufs.OpAMPConnectionSettings {
			return &protobufs.OpAMPConnectionSettings{Certificate: &protobufs.TLSCertificate{Cert: []byte("not PEM"), PrivateKey: []byte("x")}}
		}},
	}
	addr := dead()
	cases = append(cases, struct {
		name  string
		offer func(tr string) *protobufs.OpAMPConnectionSettings
	}{"dead endpoint", func(tr string) *protobufs.OpAMPConnectionSettings {
		return &protobufs.OpAMPConnectionSettings{DestinationEndpoint: tr + "://" + addr + testserver.Path}
	}})
	for _, tr := range []string{"ws", "http"} {
		for _, tc := range cases {
			t.Run(tr+"/"+tc.name, func(t *testing.T) {
				a := testserver.Start(t)
				agent := newAgent(t, offersConfig(tr, urlFor(a, tr), t.TempDir()))
				require.NoError(t, agent.Start(context.Background(), newTestHost()))
				defer shutdown(t, agent)
				uid := agent.uid.String()
				a.WaitAgent(t, waitTime, func(s *testserver.AgentState) bool { return s.UID == uid && s.Description != nil })
				require.NoError(t, a.Send(uid, &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
					Hash: []byte("bad"), Opamp: tc.offer(tr),
				}}))
				st := a.WaitAgent(t, waitTime, statusIs("bad", csFailed))
				assert.NotEmpty(t, st.ConnectionSettingsStatus.GetErrorMessage())
				// Still reporting to a.
				before := a.Agent(uid).MessageCount
				require.NoError(t, a.Send(uid, &protobufs.ServerToAgent{Flags: uint64(protobufs.ServerToAgentFlags_ServerToAgentFlags_ReportFullState)}))
				a.WaitAgent(t, waitTime, func(s *testserver.AgentState) bool { return s.MessageCount > before })
			})
		}
	}
}

// TestHeaderOfferRotatesCredentials: an offered header replaces the
// configured one on the next connection.
func TestHeaderOfferRotatesCredentials(t *testing.T) {
	srv := testserver.Start(t, testserver.WithOnConnecting(func(r *http.Request) (bool, int) {
		switch r.Header.Get("X-Key") {
		case "old-secret", "new-secret":
			return true, 0
		}
		return false, http.StatusUnauthorized
	}))
	cfg := offersConfig("ws", srv.WSURL(), t.TempDir())
	cfg.serverSettings().Headers = map[string]configopaque.String{"X-Key": "old-secret"}
	agent := newAgent(t, cfg)
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	uid := agent.uid.String()
	srv.WaitAgent(t, waitTime, func(s *testserver.AgentState) bool { return s.UID == uid && s.Description != nil })
	require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
		Hash: []byte("rotate"),
		Opamp: &protobufs.OpAMPConnectionSettings{Headers: &protobufs.Headers{Headers: []*protobufs.Header{
			{Key: "X-Key", Value: "new-secret"},
		}}},
	}}))
	srv.WaitAgent(t, waitTime, statusIs("rotate", csApplied))
	hs := srv.RequestHeaders()
	assert.Equal(t, "new-secret", hs[len(hs)-1].Get("X-Key"))
}

// TestMovedAgentSignsForNewServer: after an offer moves the agent, the
// auth extension signs requests for the server it moved to, not for the
// configured one (a URL-signing authenticator would otherwise be refused).
func TestMovedAgentSignsForNewServer(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			needsAuth := testserver.WithOnConnecting(func(r *http.Request) (bool, int) {
				if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer token-") {
					return false, http.StatusUnauthorized
				}
				return true, 0
			})
			a, b := testserver.Start(t, needsAuth), testserver.Start(t, needsAuth)
			authID := component.MustNewIDWithName("testauth", "opamp")
			cfg := offersConfig(tr, urlFor(a, tr), t.TempDir())
			cfg.serverSettings().Auth = &authID
			auth := &headerAuth{}
			host := newTestHost()
			host.exts[authID] = auth
			agent := newAgent(t, cfg)
			require.NoError(t, agent.Start(context.Background(), host))
			defer shutdown(t, agent)
			uid := agent.uid.String()
			a.WaitAgent(t, waitTime, func(s *testserver.AgentState) bool { return s.UID == uid && s.Description != nil })

			require.NoError(t, a.Send(uid, endpointOffer("signed-move", urlFor(b, tr))))
			b.WaitAgent(t, waitTime, statusIs("signed-move", csApplied))
			auth.mu.Lock()
			last := auth.urls[len(auth.urls)-1]
			auth.mu.Unlock()
			assert.True(t, strings.HasPrefix(last, "http://"+b.Addr()+"/"), "signed %q after moving to %s", last, b.Addr())
		})
	}
}
