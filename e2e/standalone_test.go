//go:build e2e

package e2e

import (
	"fmt"
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

// standaloneConfig is a Collector config whose opamp extension talks to
// the server directly, over the transport block given, with internal
// metrics off.
func standaloneConfig(transport string) string {
	return collectorConfig(transport, `
    metrics:
      level: none`)
}

// collectorConfig is standaloneConfig with the given service.telemetry
// block.
func collectorConfig(transport, telemetry string) string {
	return fmt.Sprintf(`
receivers:
  nop:
exporters:
  nop:
extensions:
  opamp:
    server:
%s
service:
  extensions: [opamp]
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
  telemetry:%s
`, transport, telemetry)
}

// TestStandalone: the distro, run without a Supervisor, connects to the
// server over ws and over plain-HTTP polling and reports everything.
func TestStandalone(t *testing.T) {
	tests := []struct {
		name      string
		transport func(srv *testserver.Server) string
		want      testserver.Transport
	}{
		{
			name:      "ws",
			transport: func(srv *testserver.Server) string { return "      ws:\n        endpoint: " + srv.WSURL() },
			want:      testserver.TransportWebSocket,
		},
		{
			name: "http",
			transport: func(srv *testserver.Server) string {
				return "      http:\n        endpoint: " + srv.HTTPURL() + "\n        polling_interval: 200ms"
			},
			want: testserver.TransportHTTP,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.Start(t)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "collector.yaml")
			writeFile(t, cfg, standaloneConfig(tt.transport(srv)))
			start := time.Now()
			col := startProcess(t, dir, "collector", distroBin(t), []string{"--config", cfg}, cfg)

			a := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
				return a.Health.GetHealthy() && len(a.Health.GetComponentHealthMap()) > 0 &&
					len(a.AvailableComponents.GetComponents()) > 0 && a.EffectiveConfig != nil
			})
			t.Logf("%s: healthy, components and effective config after %v", tt.name, time.Since(start).Round(time.Millisecond))

			assert.Equal(t, tt.want, a.Transport)
			// Without instance_uid the extension takes core's service.instance.id
			// (a UUID), so the OpAMP identity and the telemetry resource agree.
			_, err := uuid.Parse(a.UID)
			require.NoError(t, err)
			assert.Equal(t, a.UID, identifying(a.Description, "service.instance.id"))
			assert.Equal(t, []string{a.UID}, srv.AgentUIDs(), "one identity for the whole run")
			assert.Contains(t, a.AvailableComponents.GetComponents()["extensions"].GetSubComponentMap(), "opamp")
			assert.Contains(t, effectiveBody(a), "opamp:")
			assert.NotNil(t, a.Health.GetComponentHealthMap()["pipeline:traces"])

			require.NoError(t, col.cmd.Process.Signal(syscall.SIGTERM))
			assert.NoError(t, col.wait(t, stopTimeout), "a clean stop exits 0")
			log, err := os.ReadFile(col.log)
			require.NoError(t, err)
			assert.Contains(t, string(log), `"service.instance.id": "`+a.UID+`"`, "the resource carries the same uid")
			if tt.want == testserver.TransportWebSocket {
				a = srv.Agent(a.UID)
				assert.True(t, a.Disconnected, "the last ws message says agent_disconnect")
			}
		})
	}
}

// TestStandaloneRestartCommand: without a Supervisor, a Restart command
// makes the extension reload the Collector in place (SIGHUP): same
// process, same configured identity, new start time, healthy again.
// (Without instance_uid the identity follows core's service.instance.id,
// which core generates afresh on every reload.)
func TestStandaloneRestartCommand(t *testing.T) {
	srv := testserver.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "collector.yaml")
	uid := uuid.NewString()
	writeFile(t, cfg, standaloneConfig("      ws:\n        endpoint: "+srv.WSURL()+
		"\n    instance_uid: "+uid+
		"\n    capabilities:\n      accepts_restart_command: true"))
	col := startProcess(t, dir, "collector", distroBin(t), []string{"--config", cfg}, cfg)

	before := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return a.Health.GetHealthy() && len(a.Health.GetComponentHealthMap()) > 0
	})
	require.True(t, before.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRestartCommand))
	start := time.Now()
	require.NoError(t, srv.Send(before.UID, &protobufs.ServerToAgent{
		Command: &protobufs.ServerToAgentCommand{Type: protobufs.CommandType_CommandType_Restart},
	}))
	after := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return a.Health.GetHealthy() && len(a.Health.GetComponentHealthMap()) > 0 &&
			a.Health.GetStartTimeUnixNano() > before.Health.GetStartTimeUnixNano()
	})
	t.Logf("reloaded and healthy again %v after the command", time.Since(start).Round(time.Millisecond))
	assert.False(t, col.exited(), "the reload keeps the process")
	assert.Equal(t, uid, before.UID)
	assert.Equal(t, uid, after.UID, "same identity after the reload")
	assert.Equal(t, []string{uid}, srv.AgentUIDs())
}
