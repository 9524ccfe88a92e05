//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// Log lines of the distro that tell a reload and a restart apart.
const (
	logReload  = "Config updated, restart service"                          // core: a reload in-process
	logRestart = "restarting the process on the last healthy configuration" // the extension: the exec
	logReady   = "Everything is ready"                                      // core: a service started
)

// inProcessReceivers adds, per name, an OTLP/HTTP receiver on its port in
// a logs pipeline of its own, exporting to the local config's nop.
func inProcessReceivers(ports map[string]int) string {
	var recv, pipes strings.Builder
	for _, name := range sortStrings(slices.Collect(maps.Keys(ports))) {
		fmt.Fprintf(&recv, "  otlp/%s:\n    protocols:\n      http:\n        endpoint: 127.0.0.1:%d\n", name, ports[name])
		fmt.Fprintf(&pipes, "    logs/%[1]s:\n      receivers: [otlp/%[1]s]\n      exporters: [nop]\n", name)
	}
	return "receivers:\n" + recv.String() + "service:\n  pipelines:\n" + pipes.String()
}

// TestRemoteConfigStandalone: the distro without a Supervisor, over ws
// and over HTTP polling, applies a remote config in-process (APPLIED with
// its hash, the new receiver listens, the effective config shows it),
// refuses one naming an unknown component (FAILED, no reload: the
// exec'd `validate` of the distro said so), and, when a config's receiver
// cannot bind its port, executes itself again (same PID) to come back
// healthy on the last healthy config, the server seeing FAILED naming the
// error.
func TestRemoteConfigStandalone(t *testing.T) {
	for _, tt := range []struct {
		name      string
		transport func(srv *testserver.Server) string
	}{
		{"ws", func(srv *testserver.Server) string { return "      ws:\n        endpoint: " + srv.WSURL() }},
		{"http", func(srv *testserver.Server) string {
			return "      http:\n        endpoint: " + srv.HTTPURL() + "\n        polling_interval: 100ms"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.Start(t)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "collector.yaml")
			uid := uuid.NewString()
			writeFile(t, cfg, standaloneConfig(tt.transport(srv)+
				"\n    instance_uid: "+uid+
				"\n    capabilities:\n      accepts_remote_config: true"+
				"\n    storage:\n      directory: "+filepath.Join(dir, "state")+
				"\n    remote_config:\n      apply_timeout: 5s"))
			col := startProcess(t, dir, "collector", distroBin(t), []string{"--config", cfg}, cfg)
			a := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
				return a.UID == uid && a.Health.GetHealthy() && a.EffectiveConfig != nil
			})
			require.True(t, a.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig))
			require.True(t, a.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig))
			logCount := func(s string) int {
				b, err := os.ReadFile(col.log)
				require.NoError(t, err)
				return strings.Count(string(b), s)
			}

			port := freePort(t)
			{
				start := time.Now()
				hash := sendRemoteConfig(t, srv, uid, inProcessReceivers(map[string]int{"good": port}))
				st := waitConfigStatus(t, srv, hash)
				require.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED, st.GetStatus(), st.GetErrorMessage())
				t.Logf("APPLIED %v after sending", time.Since(start).Round(time.Millisecond))
				assert.True(t, eventually(10*time.Second, func() bool { return listening(port) }), "the remote receiver listens")
				srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
					return strings.Contains(effectiveBody(a), "logs/good") && strings.Contains(effectiveBody(a), fmt.Sprintf("127.0.0.1:%d", port))
				})
				assert.Equal(t, 1, logCount(logReload), "applied by one reload in-process")
			}

			{
				hash := sendRemoteConfig(t, srv, uid, "receivers:\n  nosuch:\nservice:\n  pipelines:\n    traces/x:\n      receivers: [nosuch]\n      exporters: [nop]\n")
				st := waitConfigStatus(t, srv, hash)
				require.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, st.GetStatus())
				assert.Contains(t, st.GetErrorMessage(), "nosuch", "the distro's validate names the unknown component")
				assert.Equal(t, 1, logCount(logReload), "nothing is reloaded")
				assert.True(t, listening(port), "the applied config keeps running")
			}

			{
				busy, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				defer func() { _ = busy.Close() }()
				busyPort := busy.Addr().(*net.TCPAddr).Port
				pid, ready := col.pid(), logCount(logReady)
				started := srv.Agent(uid).Health.GetStartTimeUnixNano()
				start := time.Now()
				hash := sendRemoteConfig(t, srv, uid, inProcessReceivers(map[string]int{"good": port, "busy": busyPort}))
				st := waitConfigStatus(t, srv, hash)
				require.Equal(t, protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED, st.GetStatus())
				assert.Contains(t, st.GetErrorMessage(), "otlp/busy")
				assert.Contains(t, st.GetErrorMessage(), "address already in use")
				srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
					return a.Health.GetHealthy() && a.Health.GetStartTimeUnixNano() > started && strings.Contains(effectiveBody(a), "logs/good") &&
						!strings.Contains(effectiveBody(a), "otlp/busy")
				})
				t.Logf("FAILED and healthy again on the last healthy config %v after sending", time.Since(start).Round(time.Millisecond))
				assert.False(t, col.exited(), "the process did not end")
				assert.Equal(t, pid, col.pid())
				assert.Equal(t, 1, logCount(logRestart), "it executed itself again, once")
				assert.Greater(t, logCount(logReady), ready, "and started again")
				assert.True(t, eventually(10*time.Second, func() bool { return listening(port) }), "the last healthy config runs")
				assert.Equal(t, []string{uid}, srv.AgentUIDs(), "the same agent throughout")
			}
		})
	}
}
