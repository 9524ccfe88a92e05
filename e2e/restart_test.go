//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestSupervisorRestartCommand: a Restart command makes the Supervisor
// replace the Collector process; the new one connects and reports a new
// start time and healthy status again.
func TestSupervisorRestartCommand(t *testing.T) {
	srv := testserver.Start(t)
	s := startSupervisor(t, srv, supervisorOptions{collector: distroBin(t), agentConfig: baseAgentConfig})
	before := s.waitHealthy(t)
	uid := s.instanceUID(t)
	require.True(t, before.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRestartCommand))
	oldPID := s.collectorPID(t, 10*time.Second)
	oldStart := before.Health.GetStartTimeUnixNano()
	oldMessages := before.MessageCount

	start := time.Now()
	require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{
		Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType_CommandType_Restart},
	}))
	after := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		h := a.Health
		return h.GetHealthy() && len(h.GetComponentHealthMap()) > 0 && h.GetStartTimeUnixNano() > oldStart
	})
	t.Logf("healthy again with a new start time %v after the command", time.Since(start).Round(time.Millisecond))

	newPID := s.collectorPID(t, 10*time.Second, oldPID)
	assert.NotEqual(t, oldPID, newPID)
	assert.False(t, alive(oldPID), "the old Collector (pid %d) is gone", oldPID)
	assert.Greater(t, after.MessageCount, oldMessages)
	assert.Equal(t, uid, identifying(after.Description, "service.instance.id"), "same identity after the restart")
}
