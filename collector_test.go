package opampextension

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/testserver"
)

// collectorConfig is a real Collector config: nop receiver and exporter,
// this extension, and secrets core would leave in plain text.
const collectorConfig = `
receivers:
  nop:
exporters:
  nop:
extensions:
  opamp:
    server:
      %s:
        endpoint: %s
        headers:
          X-Api-Key: ${env:E2E_SECRET}
    instance_uid: %s
    capabilities:
      reports_health: %t
%s
service:
  telemetry:
    metrics:
      level: none
  extensions: [opamp]
  pipelines:
    traces:
      receivers: [nop]
      exporters: [nop]
    metrics/secret:
      receivers: [nop]
      exporters: [nop]
`

type collectorRun struct {
	col  *otelcol.Collector
	done chan error
}

func startCollector(t *testing.T, yaml string) *collectorRun {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return runCollector(t, confmap.ResolverSettings{
		URIs:              []string{path},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
	})
}

// runCollector runs a Collector with nop components and this extension,
// its config resolved by rs and its logger built with opts, until the
// test ends.
func runCollector(t *testing.T, rs confmap.ResolverSettings, opts ...zap.Option) *collectorRun {
	t.Helper()
	factories := func() (otelcol.Factories, error) {
		var f otelcol.Factories
		var err error
		if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](receivertest.NewNopFactory()); err != nil {
			return f, err
		}
		if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](exportertest.NewNopFactory()); err != nil {
			return f, err
		}
		if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](NewFactory()); err != nil {
			return f, err
		}
		f.Telemetry = otelconftelemetry.NewFactory()
		f.ReceiverModules = map[component.Type]string{component.MustNewType("nop"): "go.opentelemetry.io/collector/receiver/receivertest v0.164.0"}
		f.ExporterModules = map[component.Type]string{component.MustNewType("nop"): "go.opentelemetry.io/collector/exporter/exportertest v0.164.0"}
		f.ExtensionModules = map[component.Type]string{metadata.Type: "github.com/opampext/opampextension v0.0.0"}
		return f, nil
	}
	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo:               component.BuildInfo{Command: "otelcol-e2e", Description: "test", Version: "0.0.1"},
		Factories:               factories,
		ConfigProviderSettings:  otelcol.ConfigProviderSettings{ResolverSettings: rs},
		LoggingOptions:          opts,
		DisableGracefulShutdown: true,
		SkipSettingGRPCLogger:   true,
	})
	require.NoError(t, err)
	run := &collectorRun{col: col, done: make(chan error, 1)}
	go func() {
		err := col.Run(context.Background())
		if err != nil {
			t.Logf("the Collector stopped: %v", err)
		}
		run.done <- err
	}()
	t.Cleanup(func() {
		col.Shutdown()
		select {
		case err := <-run.done:
			_ = err // logged by the goroutine that ran it
		case <-time.After(waitTime):
			t.Error("the Collector did not stop")
		}
	})
	return run
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
			yaml := fmt.Sprintf(collectorConfig, tc.transport, endpoint, uid, tc.health, "")
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
	yaml := fmt.Sprintf(collectorConfig, "ws", srv.WSURL(), "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7e", true, extra)
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
