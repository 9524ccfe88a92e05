//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestSupervisorOrphanWatch: after kill -9 of the Supervisor, the Collector
// notices through ppid within two ppid_poll_intervals and exits.
func TestSupervisorOrphanWatch(t *testing.T) {
	const interval = 2 * time.Second
	srv := testserver.Start(t)
	s := startSupervisor(t, srv, supervisorOptions{
		collector:      distroBin(t),
		agentConfig:    baseAgentConfig,
		orphanInterval: interval,
	})
	s.waitHealthy(t)
	pid := s.collectorPID(t, 10*time.Second)
	// Belt and braces: whatever happens below, no Collector survives the test.
	t.Cleanup(func() { killIfAlive(t, pid) })

	require.NoError(t, s.proc.cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	_ = s.proc.wait(t, 10*time.Second) // reap it, so its pid is really gone

	gone := eventually(2*interval+5*time.Second, func() bool { return !alive(pid) })
	elapsed := time.Since(killed)
	require.True(t, gone, "the Collector (pid %d) still runs %v after its Supervisor died", pid, elapsed)
	t.Logf("the Collector exited %v after kill -9 of the Supervisor (ppid_poll_interval %v)", elapsed.Round(time.Millisecond), interval)
	assert.LessOrEqual(t, elapsed, 2*interval, "exit within two ppid_poll_intervals")

	log, err := os.ReadFile(filepath.Join(s.storage, "agent.log"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(log), "parent process is gone"), "the Collector says why it stops")
}
