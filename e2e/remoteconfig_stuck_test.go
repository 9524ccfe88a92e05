//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestRemoteConfigStuckStart, with the distro and a real OpAMP server: a
// candidate whose service never finishes starting (stuckExtension) with
// remote_config.apply_timeout 2s. Core's Run loop stays inside that
// service's Start, so the rollback's reload (SIGHUP) is never handled;
// the extension instance of the stuck service executes the process again
// instead (same PID), which comes back as the same agent on the last
// healthy config (its receiver listens, the effective config has no
// candidate), the server seeing FAILED for the candidate, and stays there
// (one restart, no loop).
func TestRemoteConfigStuckStart(t *testing.T) {
	srv := testserver.Start(t)
	dir, stateDir, cfg, uid := remoteAgentConfig(t, srv, "2s")
	col := startProcess(t, dir, "collector", distroBin(t), []string{"--config", cfg}, cfg)
	srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return a.UID == uid && a.Connected && a.Health.GetHealthy()
	})
	logCount := func(s string) int {
		b, err := os.ReadFile(col.log)
		require.NoError(t, err)
		return strings.Count(string(b), s)
	}

	port := freePort(t)
	good := inProcessReceivers(map[string]int{"good": port})
	goodHash := sendRemoteConfig(t, srv, uid, good)
	st := waitConfigStatus(t, srv, goodHash)
	require.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, st.GetStatus(), st.GetErrorMessage())
	require.True(t, eventually(10*time.Second, func() bool { return listening(port) }))

	pid, started := col.pid(), srv.Agent(uid).Health.GetStartTimeUnixNano()
	n := len(srv.Agent(uid).Messages)
	sent := time.Now()
	stuckHash := sendStuck(t, srv, uid, good)
	a := statusSince(t, srv, uid, n, stuckHash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED)
	// Which instance rolls back depends on core's order of extensions:
	// the new opamp one when it started first, else the watchdog.
	t.Logf("FAILED: %s", a.RemoteConfigStatus.GetErrorMessage())
	assert.Contains(t, a.RemoteConfigStatus.GetErrorMessage(), "not healthy within 2s")

	back := func(a *testserver.AgentState) bool {
		body := effectiveBody(a)
		return a.UID == uid && a.Connected && a.Health.GetHealthy() && a.Health.GetStartTimeUnixNano() > started &&
			strings.Contains(body, "logs/good") && !strings.Contains(body, "bearertokenauth/stuck")
	}
	a = srv.WaitAgent(t, readyTimeout, back)
	t.Logf("healthy again on the last healthy config %v after sending", time.Since(sent).Round(time.Millisecond))
	assert.True(t, eventually(10*time.Second, func() bool { return listening(port) }), "the last healthy config's receiver listens")
	assert.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, a.RemoteConfigStatus.GetStatus())
	assert.True(t, bytes.Equal(stuckHash, a.RemoteConfigStatus.GetLastRemoteConfigHash()),
		"the new process image reports the candidate FAILED")
	assert.False(t, col.exited(), "the process did not end")
	assert.Equal(t, pid, col.pid(), "executed in place")
	assert.Equal(t, 1, logCount(logRestart), "it executed itself again, once")
	assert.Equal(t, []string{uid}, srv.AgentUIDs(), "the same agent throughout")

	d := readDiskState(t, stateDir)
	assert.Nil(t, d.Candidate)
	require.NotNil(t, d.Active)
	assert.Equal(t, goodHash, d.Active.Hash, "the last healthy config stays the one in force")
	assert.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED.String(), d.Status.Status)

	// No loop: past another apply timeout, the same start, still healthy.
	restarted, ready := a.Health.GetStartTimeUnixNano(), logCount(logReady)
	time.Sleep(4 * time.Second)
	cur := srv.Agent(uid)
	assert.True(t, cur.Connected && cur.Health.GetHealthy(), fmt.Sprintf("connected %v, health %v", cur.Connected, cur.Health))
	assert.Equal(t, restarted, cur.Health.GetStartTimeUnixNano())
	assert.Equal(t, 1, logCount(logRestart))
	assert.Equal(t, ready, logCount(logReady))
	assert.False(t, col.exited())
	assert.True(t, listening(port))
}

// sendStuck sends base with stuckExtension over it, as two entries of the
// config map, and returns the hash it sent.
func sendStuck(t *testing.T, srv *testserver.Server, uid, base string) []byte {
	t.Helper()
	hash := []byte("stuck")
	require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{
		Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
			"":      {Body: []byte(base), ContentType: "text/yaml"},
			"stuck": {Body: []byte(stuckExtension), ContentType: "text/yaml"},
		}},
		ConfigHash: hash,
	}}))
	return hash
}
