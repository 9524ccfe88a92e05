package opampextension

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testotlp"
	"github.com/opampext/opampextension/internal/testserver"
	"github.com/opampext/opampextension/opampconfmap"
)

// TestOwnMetricsWhereTheServerAsks: a real Collector that reports its own
// metrics, and no remote config, sends them where an offer says (an OTLP
// endpoint here decodes them), reports APPLIED to the server, and stops
// when an empty offer takes the destination away.
func TestOwnMetricsWhereTheServerAsks(t *testing.T) {
	r, sink, a := ownTelemetryCollector(t, "reports_own_metrics", true)
	assert.True(t, a.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnMetrics))
	assert.True(t, a.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus))

	offer := func(hash, endpoint string) {
		require.NoError(t, r.srv.Send(r.uid, &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
			Hash: []byte(hash), OwnMetrics: &protobufs.TelemetryConnectionSettings{DestinationEndpoint: endpoint},
		}}))
	}
	offer("m1", sink.URL()+"/v1/metrics")
	r.srv.WaitAgent(t, 20*time.Second, statusIs("m1", csApplied))
	require.Eventually(t, func() bool { name, _ := sink.CollectorMetric(); return name != "" }, 20*time.Second, 50*time.Millisecond,
		"no otelcol_ metric reached the offered endpoint")
	st := r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return strings.Contains(effective(a), sink.URL()) })
	assert.Contains(t, effective(st), "telemetry")

	offer("bad", "not a url")
	failed := r.srv.WaitAgent(t, 20*time.Second, statusIs("bad", csFailed))
	assert.Contains(t, failed.ConnectionSettingsStatus.GetErrorMessage(), "destination_endpoint")

	offer("m0", "")
	r.srv.WaitAgent(t, 20*time.Second, statusIs("m0", csApplied))
	time.Sleep(500 * time.Millisecond) // the old service's last export
	_, before := sink.CollectorMetric()
	time.Sleep(time.Second) // ten intervals
	_, after := sink.CollectorMetric()
	assert.Equal(t, before, after, "no export once the destination is removed")
}

// TestOwnLogsWhereTheServerAsks: a real Collector that reports its own
// logs sends them where an offer says: the rebuilt service's own
// "Everything is ready" reaches the OTLP endpoint, decoded there.
func TestOwnLogsWhereTheServerAsks(t *testing.T) {
	r, sink, a := ownTelemetryCollector(t, "reports_own_logs", true)
	assert.True(t, a.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnLogs))
	assert.False(t, a.HasCapability(protobufs.AgentCapabilities_AgentCapabilities_ReportsOwnMetrics))

	require.NoError(t, r.srv.Send(r.uid, &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
		Hash: []byte("l1"), OwnLogs: &protobufs.TelemetryConnectionSettings{DestinationEndpoint: sink.URL() + "/v1/logs"},
	}}))
	r.srv.WaitAgent(t, 20*time.Second, statusIs("l1", csApplied))
	require.Eventually(t, func() bool { return sink.Logged("Everything is ready") }, 20*time.Second, 50*time.Millisecond,
		"the Collector's own logs did not reach the offered endpoint")
	_, posts := sink.CollectorMetric()
	assert.Positive(t, posts)
}

// ownTelemetryCollector runs a real Collector whose opamp extension has
// the own-telemetry capability given (and no remote config), an OTLP sink
// to offer, and the agent as the server first knows it. withUID
// configures instance_uid (r.uid); else the agent resolves its own.
func ownTelemetryCollector(t *testing.T, capability string, withUID bool) (*remoteRig, *testotlp.Sink, *testserver.AgentState) {
	t.Helper()
	r := newRemoteRig(t)
	sink := testotlp.Start(t, nil)
	uidLine := ""
	if withUID {
		uidLine = "\n    instance_uid: " + r.uid
	}
	yaml := collectorYAML{opamp: fmt.Sprintf(`    server:
      ws:
        endpoint: %s%s
    capabilities:
      %s: true
    storage:
      directory: %s
    remote_config:
      apply_timeout: 5s
    connection_settings:
      own_metrics_interval: 100ms`, r.srv.WSURL(), uidLine, capability, r.dir)}.String()
	r.current = runCollector(t, yaml, remoteReceivers(), withConverters(opampconfmap.NewFactory()))
	a := r.srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return (!withUID || a.UID == r.uid) && a.EffectiveConfig != nil })
	return r, sink, a
}

// TestOwnTelemetryCarriesInstanceUID: the own telemetry's resource carries
// the agent's instance uid as service.instance.id (core would draw another
// on every reload), as the specification asks of identifying attributes;
// the uid itself stays the same through the reloads that add and remove
// the destination, since the layer's value is not taken for the user's.
func TestOwnTelemetryCarriesInstanceUID(t *testing.T) {
	r, sink, a := ownTelemetryCollector(t, "reports_own_metrics", false)
	uid := a.UID
	offer := func(hash, endpoint string) {
		require.NoError(t, r.srv.Send(uid, &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
			Hash: []byte(hash), OwnMetrics: &protobufs.TelemetryConnectionSettings{DestinationEndpoint: endpoint},
		}}))
	}
	offer("m1", sink.URL()+"/v1/metrics")
	r.srv.WaitAgent(t, 20*time.Second, func(s *testserver.AgentState) bool { return s.UID == uid && statusIs("m1", csApplied)(s) })
	require.Eventually(t, func() bool { return len(sink.InstanceIDs()) > 0 }, 20*time.Second, 50*time.Millisecond,
		"no metrics reached the offered endpoint")
	assert.Equal(t, []string{uid}, sink.InstanceIDs())

	offer("m0", "")
	r.srv.WaitAgent(t, 20*time.Second, func(s *testserver.AgentState) bool { return s.UID == uid && statusIs("m0", csApplied)(s) })
	// A reload after that (as any later remote change brings) still
	// reports the same agent.
	r.srv.WaitAgent(t, waitTime, func(s *testserver.AgentState) bool {
		return s.UID == uid && s.EffectiveConfig != nil && !strings.Contains(effective(s), sink.URL())
	})
	assert.Equal(t, []string{uid}, r.srv.AgentUIDs(), "the agent changed its uid when its own telemetry was turned off")
}
