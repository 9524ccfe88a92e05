package opampextension

import (
	"context"
	"testing"

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
	agent := newAgent(t, wsConfig("ws://"+proxy.Addr()+testserver.Path))
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
	agent.ComponentStatusChanged(otlpRecv, statusEvent(componentstatus.StatusOK))
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
