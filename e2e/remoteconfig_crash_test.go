//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// stuckExtension is a remote config part that validates but whose
// service never finishes starting: a bearertokenauth extension told to
// wait for a token file that never appears. The apply waits for health
// until remote_config.apply_timeout, long enough to kill the process
// during the wait.
const stuckExtension = `
extensions:
  bearertokenauth/stuck:
    filename: /nonexistent/opampext-e2e-token
    wait_for_token_file: true
    retry_on_failure:
      enabled: true
      max_retries: 0
      interval: 100ms
service:
  extensions: [opamp, bearertokenauth/stuck]
`

// diskState is the part of the extension's remote config state file the
// test reads.
type diskState struct {
	Active *struct {
		Hash []byte `json:"hash"`
	} `json:"active"`
	Candidate *struct {
		Hash []byte `json:"hash"`
	} `json:"candidate"`
	Loaded bool `json:"loaded"`
	Status struct {
		Hash   []byte `json:"hash"`
		Status string `json:"status"`
	} `json:"status"`
}

func readDiskState(t *testing.T, dir string) diskState {
	t.Helper()
	var st diskState
	b, err := os.ReadFile(filepath.Join(dir, "remote-config.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	return st
}

// statusSince waits for a message after the first n of the agent that
// reports hash with want, and returns the agent's state then.
func statusSince(t *testing.T, srv *testserver.Server, uid string, n int, hash []byte, want protobufs.RemoteConfigStatuses) *testserver.AgentState {
	t.Helper()
	return srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		if a.UID != uid || len(a.Messages) <= n {
			return false
		}
		for _, m := range a.Messages[n:] {
			st := m.GetRemoteConfigStatus()
			if bytes.Equal(st.GetLastRemoteConfigHash(), hash) && st.GetStatus() == want {
				return true
			}
		}
		return false
	})
}

// TestRemoteConfigCrashSafety, with the distro and a real OpAMP server:
//   - a process killed (SIGKILL) after a remote config was APPLIED comes
//     back on that config without reloading, reporting APPLIED with the
//     same hash;
//   - a process killed while a candidate, persisted and loaded by the
//     reload, waits to become healthy comes back on the last healthy
//     config, reports FAILED with the candidate's hash, and keeps running
//     (no crash loop), also after a further restart.
func TestRemoteConfigCrashSafety(t *testing.T) {
	srv := testserver.Start(t)
	dir, stateDir, cfg, uid := remoteAgentConfig(t, srv, "2m")
	run := 0
	start := func() (*process, int) {
		run++
		n := 0
		if a := srv.Agent(uid); a != nil {
			n = len(a.Messages)
		}
		col := startProcess(t, dir, fmt.Sprintf("collector-%d", run), distroBin(t), []string{"--config", cfg}, cfg)
		srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
			return a.UID == uid && len(a.Messages) > n && a.Connected && a.Health.GetHealthy()
		})
		return col, n
	}
	logCount := func(col *process, s string) int {
		b, err := os.ReadFile(col.log)
		require.NoError(t, err)
		return strings.Count(string(b), s)
	}
	kill := func(col *process) {
		require.NoError(t, col.cmd.Process.Signal(syscall.SIGKILL))
		require.Error(t, col.wait(t, stopTimeout), "killed")
		srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool { return a.UID == uid && !a.Connected })
	}

	col, _ := start()
	port := freePort(t)
	good := inProcessReceivers(map[string]int{"good": port})
	goodHash := sendRemoteConfig(t, srv, uid, good)
	st := waitConfigStatus(t, srv, goodHash)
	require.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, st.GetStatus(), st.GetErrorMessage())
	require.True(t, eventually(10*time.Second, func() bool { return listening(port) }))

	t.Run("restart after APPLIED", func(t *testing.T) {
		kill(col)
		require.False(t, listening(port))
		var n int
		col, n = start()
		statusSince(t, srv, uid, n, goodHash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED)
		assert.True(t, eventually(10*time.Second, func() bool { return listening(port) }), "the remote receiver runs again")
		srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool { return strings.Contains(effectiveBody(a), "logs/good") })
		assert.Zero(t, logCount(col, logReload), "started on the remote config, no reload")
		assert.Equal(t, []string{uid}, srv.AgentUIDs())
	})

	t.Run("kill -9 between persist and healthy", func(t *testing.T) {
		stuckHash := []byte("stuck")
		require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{
			Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
				"":      {Body: []byte(good), ContentType: "text/yaml"},
				"stuck": {Body: []byte(stuckExtension), ContentType: "text/yaml"},
			}},
			ConfigHash: stuckHash,
		}}))
		srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
			s := a.RemoteConfigStatus
			return bytes.Equal(s.GetLastRemoteConfigHash(), stuckHash) && s.GetStatus() == protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING
		})
		// The reload loaded the persisted candidate and its service is
		// starting, stuck on the extension.
		require.True(t, eventually(readyTimeout, func() bool {
			d := readDiskState(t, stateDir)
			return d.Candidate != nil && bytes.Equal(d.Candidate.Hash, stuckHash) && d.Loaded &&
				logCount(col, "bearertokenauth/stuck") > 0 && logCount(col, logReload) == 1
		}), "the candidate is persisted and being applied")
		time.Sleep(500 * time.Millisecond)
		require.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLYING.String(), readDiskState(t, stateDir).Status.Status)
		kill(col)

		var n int
		col, n = start()
		a := statusSince(t, srv, uid, n, stuckHash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED)
		var msg string
		for _, m := range a.Messages[n:] {
			if s := m.GetRemoteConfigStatus(); bytes.Equal(s.GetLastRemoteConfigHash(), stuckHash) {
				msg = s.GetErrorMessage()
			}
		}
		assert.Contains(t, msg, "stopped before this configuration was confirmed healthy")
		assert.True(t, eventually(10*time.Second, func() bool { return listening(port) }), "the last healthy config runs")
		srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
			return strings.Contains(effectiveBody(a), "logs/good") && !strings.Contains(effectiveBody(a), "bearertokenauth/stuck")
		})
		d := readDiskState(t, stateDir)
		assert.Nil(t, d.Candidate)
		require.NotNil(t, d.Active)
		assert.Equal(t, goodHash, d.Active.Hash, "the last healthy config stays the one in force")

		// No crash loop: the process stays up on one start, healthy.
		pid, started := col.pid(), srv.Agent(uid).Health.GetStartTimeUnixNano()
		time.Sleep(3 * time.Second)
		assert.False(t, col.exited())
		assert.Equal(t, pid, col.pid())
		assert.Equal(t, 1, logCount(col, logReady), "started once")
		assert.Zero(t, logCount(col, logReload))
		assert.Zero(t, logCount(col, logRestart))
		cur := srv.Agent(uid)
		assert.True(t, cur.Connected && cur.Health.GetHealthy())
		assert.Equal(t, started, cur.Health.GetStartTimeUnixNano())

		// The status survives a further restart.
		kill(col)
		col, n = start()
		statusSince(t, srv, uid, n, stuckHash, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED)
		assert.True(t, eventually(10*time.Second, func() bool { return listening(port) }))
		assert.Zero(t, logCount(col, logReload))
	})
}

// remoteAgentConfig writes the config of a distro that accepts remote
// config from srv (its own instance uid, state directory and
// apply_timeout) into a new temporary directory.
func remoteAgentConfig(t *testing.T, srv *testserver.Server, applyTimeout string) (dir, stateDir, cfg, uid string) {
	t.Helper()
	dir = t.TempDir()
	stateDir = filepath.Join(dir, "state")
	cfg = filepath.Join(dir, "collector.yaml")
	uid = uuid.NewString()
	writeFile(t, cfg, standaloneConfig("      ws:\n        endpoint: "+srv.WSURL()+
		"\n    instance_uid: "+uid+
		"\n    capabilities:\n      accepts_remote_config: true"+
		"\n    storage:\n      directory: "+stateDir+
		"\n    remote_config:\n      apply_timeout: "+applyTimeout))
	return dir, stateDir, cfg, uid
}
