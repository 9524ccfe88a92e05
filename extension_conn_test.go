package opampextension

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/opampext/opampextension/internal/custommsg"
	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

// TestCustomMessagesBothWays: a component registered through contrib's
// registry interface talks to the server and back.
func TestCustomMessagesBothWays(t *testing.T) {
	srv := testserver.Start(t)
	agent := newAgent(t, wsConfig(srv.WSURL()))
	handler, err := agent.Register("io.opampext.test")
	require.NoError(t, err)
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)

	uid := agent.uid.String()
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
		return a.UID == uid && len(a.CustomCapabilities.GetCapabilities()) == 1
	})
	require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{CustomMessage: &protobufs.CustomMessage{
		Capability: "io.opampext.test", Type: "ping", Data: []byte("hello"),
	}}))
	select {
	case msg := <-handler.Message():
		assert.Equal(t, "ping", msg.Type)
		assert.Equal(t, []byte("hello"), msg.Data)
	case <-time.After(waitTime):
		t.Fatal("the component did not receive the server's message")
	}

	_, err = handler.SendMessage("pong", []byte("back"))
	require.NoError(t, err)
	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return len(a.CustomMessages) == 1 })
	assert.Equal(t, "pong", st.CustomMessages[0].Type)
	assert.Equal(t, []byte("back"), st.CustomMessages[0].Data)

	handler.Unregister()
	_, err = handler.SendMessage("pong", nil)
	require.ErrorIs(t, err, custommsg.ErrUnregistered)
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return len(a.CustomCapabilities.GetCapabilities()) == 0 })
}

// TestAuthHeaders: the authenticator signs the real server URL, and its
// header reaches the server on every connection (ws) and every poll (http).
func TestAuthHeaders(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			srv := testserver.Start(t, testserver.WithOnConnecting(func(r *http.Request) (bool, int) {
				if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer token-") {
					return false, http.StatusUnauthorized
				}
				return true, 0
			}))
			authID := component.MustNewIDWithName("testauth", "opamp")
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
			}
			cfg.serverSettings().Auth = &authID
			cfg.serverSettings().Headers = map[string]configopaque.String{"X-Tenant": "team-a"}
			auth := &headerAuth{}
			host := newTestHost()
			host.exts[authID] = auth

			agent := newAgent(t, cfg)
			assert.Equal(t, []component.ID{authID}, agent.Dependencies())
			require.NoError(t, agent.Start(context.Background(), host))
			defer shutdown(t, agent)

			srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })
			hdrs := srv.RequestHeaders()
			require.NotEmpty(t, hdrs)
			assert.Equal(t, "team-a", hdrs[0].Get("X-Tenant"))
			auth.mu.Lock()
			signed := append([]string(nil), auth.urls...)
			auth.mu.Unlock()
			require.NotEmpty(t, signed)
			assert.True(t, strings.HasPrefix(signed[0], "http://"+srv.Addr()+"/v1/opamp"), "signed %q", signed[0])
			if tr == "http" {
				// Every poll is signed anew.
				srv.WaitFor(t, waitTime, func(s *testserver.Server) bool { return len(s.RequestHeaders()) >= 3 })
				hdrs = srv.RequestHeaders()
				assert.NotEqual(t, hdrs[0].Get("Authorization"), hdrs[len(hdrs)-1].Get("Authorization"))
			}
		})
	}
}

func TestAuthExtensionMissing(t *testing.T) {
	authID := component.MustNewID("missingauth")
	cfg := wsConfig("ws://127.0.0.1:1/v1/opamp")
	cfg.Server.WS.Auth = &authID
	agent := newAgent(t, cfg)
	err := agent.Start(context.Background(), newTestHost())
	require.ErrorContains(t, err, "server.ws.auth")
	shutdown(t, agent)
}

// TestTLS: wss with the server verified against a CA, with and without a
// client certificate (mTLS).
func TestTLS(t *testing.T) {
	for _, mtls := range []bool{false, true} {
		name := "server-auth"
		if mtls {
			name = "mtls"
		}
		t.Run(name, func(t *testing.T) {
			certs := testcerts.New(t)
			srv := testserver.Start(t, testserver.WithTLS(certs.ServerTLSConfig(mtls)))
			require.True(t, strings.HasPrefix(srv.WSURL(), "wss://"))
			cfg := wsConfig(srv.WSURL())
			cfg.Server.WS.TLS.CAFile = certs.CAFile
			if mtls {
				cfg.Server.WS.TLS.CertFile = certs.ClientCertFile
				cfg.Server.WS.TLS.KeyFile = certs.ClientKeyFile
			}
			agent := newAgent(t, cfg)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)
			srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })
		})
	}
}

// TestHeartbeat: the configured interval applies, and a server's offer
// replaces it.
func TestHeartbeat(t *testing.T) {
	t.Run("configured", func(t *testing.T) {
		srv := testserver.Start(t)
		cfg := wsConfig(srv.WSURL())
		cfg.Capabilities.ReportsHeartbeat = true
		cfg.HeartbeatInterval = 200 * time.Millisecond
		agent := newAgent(t, cfg)
		require.NoError(t, agent.Start(context.Background(), newTestHost()))
		defer shutdown(t, agent)
		st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })
		assert.True(t, st.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat))
		n := st.MessageCount
		srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.MessageCount >= n+3 })
	})
	t.Run("server offer", func(t *testing.T) {
		var srv *testserver.Server
		srv = testserver.Start(t, testserver.WithResponder(func(uid string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
			reply := srv.DefaultReply(uid, msg)
			if msg.GetSequenceNum() == 1 {
				reply.ConnectionSettings = &protobufs.ConnectionSettingsOffers{
					Opamp: &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 1},
				}
			}
			return reply
		}))
		cfg := wsConfig(srv.WSURL())
		cfg.Capabilities.ReportsHeartbeat = true
		cfg.HeartbeatInterval = time.Hour
		agent := newAgent(t, cfg)
		require.NoError(t, agent.Start(context.Background(), newTestHost()))
		defer shutdown(t, agent)
		st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })
		n := st.MessageCount
		srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.MessageCount >= n+2 })
	})
}

// TestRestartCommand: Restart reloads the Collector through SIGHUP, and one
// that arrives before the pipelines are ready waits for them.
func TestRestartCommand(t *testing.T) {
	hup := make(chan os.Signal, 4)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv := testserver.Start(t)
	cfg := wsConfig(srv.WSURL())
	cfg.Capabilities.AcceptsRestartCommand = true
	agent := newAgent(t, cfg)
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	uid := agent.uid.String()
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })

	restart := &protobufs.ServerToAgent{Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType_CommandType_Restart}}
	require.NoError(t, srv.Send(uid, restart))
	select {
	case <-hup:
		t.Fatal("restarted before the Collector was ready")
	case <-time.After(time.Second):
	}
	require.NoError(t, agent.Ready())
	select {
	case <-hup:
	case <-time.After(waitTime):
		t.Fatal("no reload after Ready")
	}
	require.NoError(t, srv.Send(uid, restart))
	select {
	case <-hup:
	case <-time.After(waitTime):
		t.Fatal("no reload for a restart command once ready")
	}
}

// TestParentGone: when the ppid process ends, the extension reports a fatal
// error to the host and its Shutdown fails so the Collector exits non-zero.
func TestParentGone(t *testing.T) {
	parent := exec.Command("sleep", "60")
	require.NoError(t, parent.Start())
	srv := testserver.Start(t)
	cfg := wsConfig(srv.WSURL())
	cfg.PPID = int32(parent.Process.Pid)
	cfg.PPIDPollInterval = 50 * time.Millisecond
	agent := newAgent(t, cfg)
	host := newTestHost()
	require.NoError(t, agent.Start(context.Background(), host))
	require.NoError(t, parent.Process.Kill())
	_ = parent.Wait() // "signal: killed" is the expected outcome
	require.Eventually(t, func() bool { return len(host.fatalEvents()) == 1 }, waitTime, 10*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.ErrorContains(t, agent.Shutdown(ctx), "ppid")
}
