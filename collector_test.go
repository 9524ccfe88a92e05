package opampextension

import (
	"fmt"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"

	"github.com/opampext/opampextension/internal/testserver"
)

// collectorConfig is a real Collector config: nop receiver and exporter,
// this extension, and secrets core would leave in plain text; extra is
// more of the extension's settings.
func collectorConfig(transport, endpoint, uid string, health bool, extra string) string {
	return collectorYAML{
		opamp: fmt.Sprintf(`    server:
      %s:
        endpoint: %s
        headers:
          X-Api-Key: ${env:E2E_SECRET}
    instance_uid: %s
    capabilities:
      reports_health: %t
%s`, transport, endpoint, uid, health, extra),
		pipelines: "    metrics/secret:\n      receivers: [nop]\n      exporters: [nop]",
	}.String()
}

// startCollector runs a Collector on yaml, its ${env:...} references
// resolved, until the test ends.
func startCollector(t *testing.T, yaml string) *collectorRun {
	t.Helper()
	return runCollector(t, yaml, withProviders(envprovider.NewFactory()))
}

// TestCollectorEndToEnd runs a real Collector with this extension over both
// transports, with and without health reporting.
func TestCollectorEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		transport string
		health    bool
	}{{"ws", true}, {"http", true}, {"ws", false}} {
		t.Run(fmt.Sprintf("%s/health=%t", tc.transport, tc.health), func(t *testing.T) {
			srv := testserver.Start(t)
			endpoint := srv.WSURL()
			if tc.transport == "http" {
				endpoint = srv.HTTPURL()
				endpoint += "\n        polling_interval: 200ms"
			}
			uid := "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d"
			t.Setenv("E2E_SECRET", "from-env-1234")
			yaml := collectorConfig(tc.transport, endpoint, uid, tc.health, "")
			startCollector(t, yaml)

			st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
				return a.UID == uid && a.EffectiveConfig != nil && a.AvailableComponents != nil &&
					(!tc.health || a.Health.GetHealthy())
			})
			assert.Equal(t, uid, attr(st.Description.GetIdentifyingAttributes(), "service.instance.id"))
			assert.Equal(t, "otelcol-e2e", attr(st.Description.GetIdentifyingAttributes(), "service.name"))
			body := string(st.EffectiveConfig.GetConfigMap().GetConfigMap()[""].GetBody())
			assert.Contains(t, body, "metrics/secret")
			assert.NotContains(t, body, "from-env-1234")
			exts := st.AvailableComponents.GetComponents()["extensions"].GetSubComponentMap()
			assert.Contains(t, exts, "opamp")
			if tc.health {
				tree := st.Health.GetComponentHealthMap()
				assert.Contains(t, tree, "pipeline:traces")
				assert.Contains(t, tree, "pipeline:metrics/secret")
				assert.True(t, tree["pipeline:traces"].GetComponentHealthMap()["receiver:nop"].GetHealthy())
			} else {
				assert.Nil(t, st.Health)
			}
		})
	}
}

// TestCollectorExitsWhenParentDies: with ppid set to a process that ends,
// the Collector shuts itself down with an error (a non-zero exit).
func TestCollectorExitsWhenParentDies(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("orphan detection is unix-only")
	}
	parent := exec.Command("sleep", "60")
	require.NoError(t, parent.Start())
	srv := testserver.Start(t)
	t.Setenv("E2E_SECRET", "from-env-1234")
	extra := fmt.Sprintf("    ppid: %d\n    ppid_poll_interval: 100ms", parent.Process.Pid)
	yaml := collectorConfig("ws", srv.WSURL(), "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7e", true, extra)
	run := startCollector(t, yaml)
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.Health.GetHealthy() })

	require.NoError(t, parent.Process.Kill())
	// Not reaped yet: the parent is a zombie, which must count as gone.
	select {
	case err := <-run.done:
		run.done <- err // for the cleanup
		require.Error(t, err, "the Collector must exit with an error")
		assert.Contains(t, err.Error(), "ppid")
	case <-time.After(waitTime):
		t.Fatal("the Collector kept running after its parent died")
	}
	_ = parent.Wait()
}
