package opampextension

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/opampext/opampextension/internal/faultproxy"
	"github.com/opampext/opampextension/internal/testserver"
)

// TestReconnectResendsFullState: after a cut connection, the messages on
// the new one carry description, effective config and health, even
// though this server never asks for ReportFullState.
func TestReconnectResendsFullState(t *testing.T) {
	srv := testserver.Start(t)
	proxy := faultproxy.Start(t, srv.Addr())
	cfg := wsConfig("ws://" + proxy.Addr() + testserver.Path)
	cfg.Server.WS.ReconnectSpread = 100 * time.Millisecond
	agent := newAgent(t, cfg)
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
	agent.Changed(otlpRecv, statusEvent(componentstatus.StatusOK))
	require.NoError(t, agent.Ready())
	uid := agent.uid.String()
	st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.Health.GetHealthy() })

	before := len(st.Messages)
	require.Positive(t, proxy.CutAll())
	defer func() {
		if !t.Failed() {
			return
		}
		for i, m := range srv.Agent(uid).Messages {
			t.Logf("msg %d seq=%d desc=%v cfg=%v health=%v caps=%d hash=%x", i, m.SequenceNum, m.AgentDescription != nil, m.EffectiveConfig != nil, m.Health != nil, m.Capabilities, m.GetAvailableComponents().GetHash())
		}
	}()
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
		if a.UID != uid || len(a.Messages) <= before {
			return false
		}
		var desc, cfg, health, caps, hash bool
		for _, m := range a.Messages[before:] {
			desc = desc || m.GetAgentDescription() != nil
			cfg = cfg || m.GetEffectiveConfig() != nil
			health = health || m.GetHealth().GetHealthy()
			caps = caps || m.GetCapabilities() != 0
			hash = hash || m.GetAvailableComponents().GetHash() != nil
		}
		return desc && cfg && health && caps && hash
	})
}

// TestReconnectsAreSpread: when a server drops every connection at once,
// the agents do not all come back in the same instant.
func TestReconnectsAreSpread(t *testing.T) {
	const agents = 10
	srv := testserver.Start(t)
	proxy := faultproxy.Start(t, srv.Addr())
	for i := range agents {
		cfg := wsConfig("ws://" + proxy.Addr() + testserver.Path)
		cfg.InstanceUID = fmt.Sprintf("0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c%02d", i)
		cfg.Server.WS.ReconnectSpread = 2 * time.Second
		agent := newAgent(t, cfg)
		require.NoError(t, agent.Start(context.Background(), newTestHost()))
		t.Cleanup(func() { shutdown(t, agent) })
	}
	srv.WaitFor(t, waitTime, func(s *testserver.Server) bool { return len(s.AgentUIDs()) == agents })
	require.Len(t, proxy.Accepts(), agents)

	proxy.CutAll()
	require.Eventually(t, func() bool { return len(proxy.Accepts()) >= 2*agents }, waitTime, 10*time.Millisecond)
	again := proxy.Accepts()[agents : 2*agents]
	spread := again[len(again)-1].Sub(again[0])
	t.Logf("%d reconnections spread over %s", agents, spread)
	// Ten uniform delays over 2 s all within 0.5 s: probability below 1e-4.
	assert.Greater(t, spread, 500*time.Millisecond)
}

// TestRetryAfterIsHonoured: an UNAVAILABLE error response with retry_after
// holds the next poll (opamp-go alone polls again at once).
func TestRetryAfterIsHonoured(t *testing.T) {
	const retryAfter = 1500 * time.Millisecond
	var mu sync.Mutex
	var polls []time.Time
	var srv *testserver.Server
	srv = testserver.Start(t,
		testserver.WithOnConnecting(func(*http.Request) (bool, int) {
			mu.Lock()
			polls = append(polls, time.Now())
			mu.Unlock()
			return true, 0
		}),
		testserver.WithResponder(func(uid string, msg *protobufs.AgentToServer) *protobufs.ServerToAgent {
			reply := srv.DefaultReply(uid, msg)
			if msg.GetSequenceNum() == 0 {
				reply.ErrorResponse = &protobufs.ServerErrorResponse{
					Type:    protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable,
					Details: &protobufs.ServerErrorResponse_RetryInfo{RetryInfo: &protobufs.RetryInfo{RetryAfterNanoseconds: uint64(retryAfter)}},
				}
			}
			return reply
		}))
	agent := newAgent(t, httpConfig(srv.HTTPURL()))
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(polls) >= 3
	}, waitTime, 10*time.Millisecond)
	mu.Lock()
	gap := polls[1].Sub(polls[0])
	mu.Unlock()
	assert.GreaterOrEqual(t, gap, retryAfter-100*time.Millisecond, "polled again %s after retry_after %s", gap, retryAfter)
}
