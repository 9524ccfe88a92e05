package opampextension

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/featuregate"
)

// TestContribFeatureGatesAccepted: --feature-gates lines written for
// contrib's extension must not stop the Collector (an unknown gate does).
func TestContribFeatureGatesAccepted(t *testing.T) {
	for _, id := range []string{
		"extension.opampextension.HeartbeatIntervalNegotiation",
		"extension.opampextension.RemoteRestarts",
	} {
		t.Run(id, func(t *testing.T) {
			require.NoError(t, featuregate.GlobalRegistry().Set(id, true))
			t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(id, false)) })
		})
	}
}

// TestHeartbeatNegotiationGateDefaultsReportsHeartbeat: as in contrib, the
// gate turns reports_heartbeat on by default; a config can still turn it off.
func TestHeartbeatNegotiationGateDefaultsReportsHeartbeat(t *testing.T) {
	assert.False(t, createDefaultConfig().(*Config).Capabilities.ReportsHeartbeat)
	require.NoError(t, featuregate.GlobalRegistry().Set(heartbeatNegotiationGate.ID(), true))
	t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(heartbeatNegotiationGate.ID(), false)) })
	assert.True(t, createDefaultConfig().(*Config).Capabilities.ReportsHeartbeat)
}
