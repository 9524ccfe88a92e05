package opampextension

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/testserver"
)

// TestRestarter: what happens to a restart command in each phase of the
// Collector's life. Steps are restarter calls; "request" is the command.
func TestRestarter(t *testing.T) {
	tests := []struct {
		name        string
		steps       []string
		wantReloads int64
		wantLog     string // a line that says what happened
	}{
		{name: "ready", steps: []string{"ready", "request"}, wantReloads: 1, wantLog: "reloading the Collector"},
		{name: "during start-up, runs at Ready", steps: []string{"request", "ready"}, wantReloads: 1, wantLog: "restarting once it is ready"},
		{name: "two at once, one reload", steps: []string{"ready", "request", "request"}, wantReloads: 1},
		{name: "during start-up, then stopped", steps: []string{"request", "stopping"}, wantLog: "Dropping the restart"},
		{name: "scheduled, then NotReady", steps: []string{"ready", "request", "stopping"}, wantLog: "Dropping the restart"},
		{name: "after NotReady", steps: []string{"ready", "stopping", "request"}, wantLog: "while the Collector is stopping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			core, logs := observer.New(zapcore.InfoLevel)
			var reloads atomic.Int64
			r := newRestarter(zap.New(core), func() error { reloads.Add(1); return nil })
			for _, step := range tt.steps {
				map[string]func(){"ready": r.ready, "request": r.request, "stopping": r.stopping}[step]()
			}
			time.Sleep(restartDelay + 250*time.Millisecond)
			assert.Equal(t, tt.wantReloads, reloads.Load())
			if tt.wantLog != "" {
				assert.NotEmpty(t, logs.FilterMessageSnippet(tt.wantLog).All(), "logged %v", logs.All())
			}
			r.stopping() // what Shutdown does: nothing more is sent
			time.Sleep(restartDelay)
			assert.Equal(t, tt.wantReloads, reloads.Load())
		})
	}
}

// TestShutdownCancelsRestart: a restart command followed at once by
// Shutdown sends no SIGHUP afterwards, which would reload the Collector
// that follows (or, in a reload, the next instance).
func TestShutdownCancelsRestart(t *testing.T) {
	hup := make(chan os.Signal, 4)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv := testserver.Start(t)
	cfg := wsConfig(srv.WSURL())
	cfg.Capabilities.AcceptsRestartCommand = true
	core, logs := observer.New(zapcore.InfoLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "restart-shutdown")
	set.Logger = zap.New(core)
	agent := newAgentWithSettings(t, cfg, set)
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	require.NoError(t, agent.Ready())
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Description != nil })

	restart := &protobufs.ServerToAgent{Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType_CommandType_Restart}}
	require.NoError(t, srv.Send(agent.uid.String(), restart))
	require.Eventually(t, func() bool {
		return logs.FilterMessageSnippet("reloading the Collector").Len() > 0
	}, waitTime, time.Millisecond)
	shutdown(t, agent)
	select {
	case <-hup:
		t.Fatal("a restart fired after Shutdown")
	case <-time.After(restartDelay + 500*time.Millisecond):
	}
	assert.NotEmpty(t, logs.FilterMessageSnippet("Dropping the restart").All())
}

// TestParentGoneLoggedOnce: the parent's end is logged once by the
// extension, below error level: the Collector logs the fatal status it
// reports as its error.
func TestParentGoneLoggedOnce(t *testing.T) {
	parent := exec.Command("sleep", "60")
	require.NoError(t, parent.Start())
	cfg := wsConfig("ws://127.0.0.1:1/v1/opamp")
	cfg.PPID = int32(parent.Process.Pid)
	cfg.PPIDPollInterval = 20 * time.Millisecond
	core, logs := observer.New(zapcore.DebugLevel)
	set := extensiontest.NewNopSettings(metadata.Type)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), "parent-once")
	set.Logger = zap.New(core)
	agent := newAgentWithSettings(t, cfg, set)
	host := newTestHost()
	require.NoError(t, agent.Start(context.Background(), host))
	require.NoError(t, parent.Process.Kill())
	_ = parent.Wait() // "signal: killed" is the expected outcome
	require.Eventually(t, func() bool { return len(host.fatalEvents()) == 1 }, waitTime, 10*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.ErrorContains(t, agent.Shutdown(ctx), "ppid")
	assert.Equal(t, 1, logs.FilterMessageSnippet("parent process").Len(), "logged %v", logs.All())
	assert.Zero(t, logs.FilterLevelExact(zapcore.ErrorLevel).Len(), "logged %v", logs.All())
}
