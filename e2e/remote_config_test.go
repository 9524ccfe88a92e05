//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// applyTimeout bounds a remote config's way to a final status: the
// Supervisor reports APPLIED only when its config_apply_timeout fires.
const applyTimeout = configApplyTimeout + 30*time.Second

// remoteReceiverConfig adds an OTLP/HTTP receiver on port in a logs pipeline.
func remoteReceiverConfig(name string, port int) string {
	return fmt.Sprintf(`
receivers:
  otlp/%[1]s:
    protocols:
      http:
        endpoint: 127.0.0.1:%[2]d
service:
  pipelines:
    logs/%[1]s:
      receivers: [otlp/%[1]s]
      exporters: [debug]
`, name, port)
}

// brokenRemoteConfig passes the Supervisor's merge but makes the Collector
// exit at start: the pipeline names an exporter that is not configured.
const brokenRemoteConfig = `
service:
  pipelines:
    logs/broken:
      receivers: [nop]
      exporters: [debug/missing]
`

// sendRemoteConfig sends body as the instance config and returns its hash.
func sendRemoteConfig(t *testing.T, srv *testserver.Server, uid, body string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	err := srv.Send(uid, &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{
		Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
			"": {Body: []byte(body), ContentType: "text/yaml"},
		}},
		ConfigHash: sum[:],
	}})
	require.NoError(t, err)
	return sum[:]
}

// waitConfigStatus waits for a final status (APPLIED or FAILED) of the
// config with hash and returns it.
func waitConfigStatus(t *testing.T, srv *testserver.Server, hash []byte) *protobufs.RemoteConfigStatus {
	t.Helper()
	a := srv.WaitAgent(t, applyTimeout, func(a *testserver.AgentState) bool {
		st := a.RemoteConfigStatus
		return bytes.Equal(st.GetLastRemoteConfigHash(), hash) &&
			(st.GetStatus() == protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED ||
				st.GetStatus() == protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED)
	})
	return a.RemoteConfigStatus
}

// TestSupervisorRemoteConfig: a remote config is APPLIED and runs (its
// receiver listens, the new effective config reaches the server); a broken
// one is FAILED with a message; a good one after it is APPLIED again.
func TestSupervisorRemoteConfig(t *testing.T) {
	srv := testserver.Start(t)
	s := startSupervisor(t, srv, supervisorOptions{collector: distroBin(t), agentConfig: baseAgentConfig})
	s.waitHealthy(t)
	uid := s.instanceUID(t)
	a := srv.Agent(uid)
	require.NotNil(t, a)
	require.True(t, a.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig))

	steps := []struct {
		name   string
		body   string
		port   int // a receiver port that must listen afterwards, 0: none
		status protobufs.RemoteConfigStatuses
	}{
		{name: "first", port: freePort(t), status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED},
		{name: "broken", body: brokenRemoteConfig, status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED},
		{name: "recovered", port: freePort(t), status: protobufs.RemoteConfigStatuses_RemoteConfigStatuses_APPLIED},
	}
	for _, step := range steps {
		if step.body == "" {
			step.body = remoteReceiverConfig(step.name, step.port)
		}
		start := time.Now()
		hash := sendRemoteConfig(t, srv, uid, step.body)
		st := waitConfigStatus(t, srv, hash)
		t.Logf("%s: %s after %v: %q", step.name, st.GetStatus(), time.Since(start).Round(time.Millisecond), firstLine(st.GetErrorMessage()))
		require.Equal(t, step.status, st.GetStatus(), "%s: %s", step.name, st.GetErrorMessage())
		if step.status == protobufs.RemoteConfigStatuses_RemoteConfigStatuses_FAILED {
			assert.NotEmpty(t, st.GetErrorMessage(), "%s: a failure says why", step.name)
			// The Supervisor appends the Collector's log tail, which names the cause.
			assert.Contains(t, st.GetErrorMessage(), "debug/missing", step.name)
			continue
		}
		assert.Empty(t, st.GetErrorMessage(), step.name)
		assert.True(t, eventually(10*time.Second, func() bool { return listening(step.port) }),
			"%s: the remote receiver listens on %d", step.name, step.port)
		srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
			body := effectiveBody(a)
			return strings.Contains(body, "otlp/"+step.name) && strings.Contains(body, fmt.Sprintf("127.0.0.1:%d", step.port))
		})
	}
	// The recovered config replaced the first one.
	assert.False(t, listening(steps[0].port), "the first config's receiver is gone")
	assert.True(t, s.waitHealthy(t).Health.GetHealthy())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
