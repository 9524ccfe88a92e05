//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestIdentitySurvivesRestart: with storage.directory and no instance_uid,
// a restarted distro is the same agent to its server (core draws a new
// service.instance.id on every start), a uid the server assigned
// included; the file holding it is 0600.
func TestIdentitySurvivesRestart(t *testing.T) {
	srv := testserver.Start(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "collector.yaml")
	writeFile(t, cfg, standaloneConfig("      ws:\n        endpoint: "+srv.WSURL()+
		"\n    storage:\n      directory: "+state))

	// run starts the distro and waits for a healthy report newer than
	// the previous run's start.
	var lastStart uint64
	run := func(name string) (*process, *testserver.AgentState) {
		col := startProcess(t, dir, name, distroBin(t), []string{"--config", cfg}, cfg)
		a := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
			return a.Connected && a.Health.GetHealthy() && a.Health.GetStartTimeUnixNano() > lastStart
		})
		lastStart = a.Health.GetStartTimeUnixNano()
		// Core installs its SIGTERM handler only once the service's Start
		// has returned, a moment after the healthy report can reach the
		// server: a SIGTERM before then kills the process outright.
		time.Sleep(300 * time.Millisecond)
		return col, a
	}
	stop := func(col *process) {
		require.NoError(t, col.cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, col.wait(t, stopTimeout))
	}

	col, first := run("collector-1")
	stop(col)
	col, second := run("collector-2")
	assert.Equal(t, first.UID, second.UID, "the restarted agent keeps its uid")
	assert.Equal(t, second.UID, identifying(second.Description, "service.instance.id"))

	assigned := uuid.New()
	require.NoError(t, srv.Send(second.UID, &protobufs.ServerToAgent{
		AgentIdentification: &protobufs.AgentIdentification{NewInstanceUid: assigned[:]},
	}))
	srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool { return a.UID == assigned.String() })
	stop(col)
	col, third := run("collector-3")
	defer stop(col)
	assert.Equal(t, assigned.String(), third.UID, "a server-assigned uid survives the restart")

	files, err := filepath.Glob(filepath.Join(state, "instance_uid.*"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	fi, err := os.Stat(files[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}
