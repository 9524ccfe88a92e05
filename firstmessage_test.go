package opampextension

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestFirstMessageCarriesHealthy: pipelines that become ready soon after
// the config snapshot are in the first message, healthy, beside the
// effective config: the server has the whole start-up in one message, not
// a healthy report queued behind it.
func TestFirstMessageCarriesHealthy(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			srv := testserver.Start(t)
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
			}
			agent := newAgent(t, cfg)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)
			require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
			time.Sleep(30 * time.Millisecond) // the pipelines start
			agent.Changed(otlpRecv, statusEvent(componentstatus.StatusOK))
			require.NoError(t, agent.Ready())

			uid := agent.uid.String()
			st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.MessageCount >= 1 })
			first := st.Messages[0]
			assert.NotNil(t, first.GetEffectiveConfig(), "the first message has the effective config")
			assert.True(t, first.GetHealth().GetHealthy(), "the first message has the healthy report")
		})
	}
}

// TestFirstMessageWaitIsBounded: pipelines that never become ready hold
// the first message no longer than firstReadyWait.
func TestFirstMessageWaitIsBounded(t *testing.T) {
	srv := testserver.Start(t)
	agent := newAgent(t, wsConfig(srv.WSURL()))
	start := time.Now()
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)
	require.NoError(t, agent.NotifyConfigSnapshot(context.Background(), snapshot(t, secretConfig)))
	uid := agent.uid.String()
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.MessageCount >= 1 })
	assert.Less(t, time.Since(start), firstReadyWait+2*time.Second)
	assert.GreaterOrEqual(t, time.Since(start), firstReadyWait-10*time.Millisecond, "the wait is the bound when Ready never comes")
}
