package recorder

import (
	"context"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/client"
	clienttypes "github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startAgent connects a real opamp-go client that reports everything, its
// component list by hash only, the way the extensions do.
func startAgent(t *testing.T, endpoint string, uid byte) client.OpAMPClient {
	t.Helper()
	c := client.NewWebSocket(nil)
	require.NoError(t, c.SetAgentDescription(&protobufs.AgentDescription{
		IdentifyingAttributes: []*protobufs.KeyValue{{Key: "service.name", Value: &protobufs.AnyValue{Value: &protobufs.AnyValue_StringValue{StringValue: "bench"}}}},
	}))
	require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: true}))
	require.NoError(t, c.SetAvailableComponents(&protobufs.AvailableComponents{
		Hash:       []byte{1, 2, 3},
		Components: map[string]*protobufs.ComponentDetails{"receivers": {}},
	}))
	caps := protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth |
		protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents
	require.NoError(t, c.SetCapabilities(&caps))
	require.NoError(t, c.Start(context.Background(), clienttypes.StartSettings{
		OpAMPServerURL: endpoint,
		InstanceUid:    clienttypes.InstanceUid{uid},
		Callbacks: clienttypes.Callbacks{
			GetEffectiveConfig: func(context.Context) (*protobufs.EffectiveConfig, error) {
				return &protobufs.EffectiveConfig{ConfigMap: &protobufs.AgentConfigMap{
					ConfigMap: map[string]*protobufs.AgentConfigFile{"": {Body: []byte("receivers: {}")}},
				}}, nil
			},
		},
	}))
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func TestRecorderFullStateAndOutage(t *testing.T) {
	r, err := Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Stop(context.Background())) })

	startAgent(t, r.Endpoint(), 1)
	startAgent(t, r.Endpoint(), 2)
	waitFull(t, r, 2)
	assert.Empty(t, r.Incomplete())

	snap := r.Snapshot()
	require.Len(t, snap.Agents, 2)
	for _, a := range snap.Agents {
		assert.NotZero(t, a.FirstAt, a.UID)
		assert.GreaterOrEqual(t, a.HealthyAt, a.FirstAt, a.UID)
		assert.GreaterOrEqual(t, a.FirstFullAt, a.HealthyAt, a.UID)
		assert.Positive(t, a.FirstFullBytes, a.UID)
		assert.LessOrEqual(t, a.FirstFullBytes, a.Bytes, a.UID)
		assert.Greater(t, a.WireBytes, int64(a.Bytes), "wire bytes include the upgrade and framing")
	}
	assert.Len(t, snap.Attempts, 2)
	assert.Zero(t, snap.ReturnedAt)

	back := r.Outage(300 * time.Millisecond)
	full, total := r.FullCount()
	assert.Equal(t, 2, total)
	assert.Less(t, full, 2, "an outage forgets the agents' state")
	assert.Equal(t, []string{
		"01000000000000000000000000000000: lacks description, effective config, health",
		"02000000000000000000000000000000: lacks description, effective config, health",
	}, r.Incomplete())
	waitFull(t, r, 2)

	snap = r.Snapshot()
	assert.Equal(t, back.UnixNano(), snap.ReturnedAt)
	for _, a := range snap.Agents {
		assert.Greater(t, a.FullAt, snap.ReturnedAt, "resynced after the return: %s", a.UID)
		assert.Less(t, a.FirstFullAt, snap.ReturnedAt, a.UID)
	}
	assert.Greater(t, len(snap.Attempts), 2, "reconnects are counted")
	assert.Positive(t, snap.PeakAttemptsPerSecond(back.UnixNano()-int64(time.Second), time.Now().UnixNano()))
}

func waitFull(t *testing.T, r *Recorder, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		full, _ := r.FullCount()
		return full == n
	}, 20*time.Second, 10*time.Millisecond, "agents with a full state")
}
