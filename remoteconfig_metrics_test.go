package opampextension

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/metadatatest"
	"github.com/opampext/opampextension/internal/remoteconfig"
	"github.com/opampext/opampextension/internal/testserver"
)

// TestRemoteConfigMetricsAreWired: an extension that accepts remote
// config reports the process's remote config counts on its meter; a
// config from a real server moves them. (Here the converter never ran for
// the state directory, so the config is FAILED without a reload.)
func TestRemoteConfigMetricsAreWired(t *testing.T) {
	srv := testserver.Start(t)
	cfg := wsConfig(srv.WSURL())
	cfg.Capabilities.AcceptsRemoteConfig = true
	cfg.Storage.Directory = t.TempDir()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tel)
	set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprintf("test%d", agentSeq.Add(1)))
	agent := newAgentWithSettings(t, cfg, set)
	require.NoError(t, agent.Start(context.Background(), newTestHost()))
	defer shutdown(t, agent)

	uid := agent.uid.String()
	srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid })
	before := remoteconfig.Totals()
	assert.Equal(t, before.Received, sumValue(t, tel, "otelcol.opamp.remote_configs_received", nil))
	require.NoError(t, srv.Send(uid, &protobufs.ServerToAgent{RemoteConfig: &protobufs.AgentRemoteConfig{
		ConfigHash: []byte("h"),
		Config: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
			"": {Body: []byte("receivers:\n  nop:\n"), ContentType: "text/yaml"},
		}},
	}}))
	assert.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, before.Received+1, sumValue(c, tel, "otelcol.opamp.remote_configs_received", nil))
		assert.Equal(c, before.Failed+1, sumValue(c, tel, "otelcol.opamp.remote_configs_failed", nil))
		assert.Equal(c, before.Applied, sumValue(c, tel, "otelcol.opamp.remote_configs_applied", nil))
		assert.Equal(c, before.RolledBack, sumValue(c, tel, "otelcol.opamp.remote_configs_rolled_back", nil))
	}, waitTime, 10*time.Millisecond)
}
