//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestSupervisorBootstrap: the Supervisor's bootstrap run of the Collector
// succeeds, so the server sees an agent whose service.instance.id is the
// Supervisor's instance uid and the full available-components map.
func TestSupervisorBootstrap(t *testing.T) {
	srv := testserver.Start(t)
	bin := distroBin(t)
	s := startSupervisor(t, srv, supervisorOptions{collector: bin, agentConfig: baseAgentConfig})

	a := srv.WaitAgent(t, readyTimeout, func(a *testserver.AgentState) bool {
		return identifying(a.Description, "service.instance.id") != "" &&
			len(a.AvailableComponents.GetComponents()) > 0
	})
	uid := s.instanceUID(t)
	assert.Equal(t, []string{uid}, srv.AgentUIDs(), "only the Supervisor talks to the server, under its uid")
	assert.Equal(t, uid, identifying(a.Description, "service.instance.id"))
	assert.Equal(t, filepath.Base(bin), identifying(a.Description, "service.name"), "service.name is the distro's command")
	assert.NotEmpty(t, identifying(a.Description, "service.version"))

	comps := a.AvailableComponents.GetComponents()
	want := map[string][]string{
		"extensions": {"opamp"},
		"receivers":  {"nop", "otlp"},
		"processors": {"batch", "memory_limiter"},
		"exporters":  {"debug", "nop", "otlp", "otlphttp"},
	}
	for kind, types := range want {
		sub := comps[kind].GetSubComponentMap()
		require.NotNil(t, sub, "available components lack kind %q", kind)
		for _, typ := range types {
			assert.Contains(t, sub, typ, "available %s", kind)
		}
	}
	opamp := comps["extensions"].GetSubComponentMap()["opamp"]
	require.NotEmpty(t, opamp.GetMetadata(), "the opamp extension carries its module")
	assert.Equal(t, "github.com/opampext/opampextension v0.0.0", opamp.GetMetadata()[0].GetValue().GetStringValue())
	assert.NotEmpty(t, a.AvailableComponentsHash)
	assert.True(t, a.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents))
}

// TestSupervisorHealth: the Collector's health, with its component tree,
// reaches the server through the Supervisor once it has started.
func TestSupervisorHealth(t *testing.T) {
	srv := testserver.Start(t)
	s := startSupervisor(t, srv, supervisorOptions{collector: distroBin(t), agentConfig: baseAgentConfig})

	start := time.Now()
	a := s.waitHealthy(t)
	t.Logf("healthy report after %v", time.Since(start).Round(time.Millisecond))

	h := a.Health
	assert.True(t, h.GetHealthy())
	assert.Equal(t, "StatusOK", h.GetStatus())
	assert.NotZero(t, h.GetStartTimeUnixNano(), "start_time_unix_nano is set")
	assert.LessOrEqual(t, h.GetStartTimeUnixNano(), uint64(time.Now().UnixNano()))

	pipeline := h.GetComponentHealthMap()["pipeline:traces"]
	require.NotNil(t, pipeline, "component tree: %v", keys(h.GetComponentHealthMap()))
	assert.True(t, pipeline.GetHealthy())
	for _, c := range []string{"receiver:nop", "processor:batch", "exporter:debug"} {
		leaf := pipeline.GetComponentHealthMap()[c]
		if assert.NotNil(t, leaf, "pipeline:traces lacks %s: %v", c, keys(pipeline.GetComponentHealthMap())) {
			assert.True(t, leaf.GetHealthy(), c)
			assert.Equal(t, "StatusOK", leaf.GetStatus(), c)
		}
	}
	ext := h.GetComponentHealthMap()["extensions"].GetComponentHealthMap()["extension:opamp"]
	if assert.NotNil(t, ext, "extensions lack extension:opamp") {
		assert.True(t, ext.GetHealthy())
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}
