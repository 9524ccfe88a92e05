package opampextension

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/metadatatest"
	"github.com/opampext/opampextension/internal/testserver"
)

// TestMetricsAreWired runs the extension with a real meter against a real
// OpAMP server over both transports, and checks that every wire-level
// metric moved, against what the server saw where it can tell.
func TestMetricsAreWired(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			srv := testserver.Start(t)
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
			}
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
			set := metadatatest.NewSettings(tel)
			set.ID = component.MustNewIDWithName(metadata.Type.String(), fmt.Sprintf("test%d", agentSeq.Add(1)))
			agent := newAgentWithSettings(t, cfg, set)

			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)
			agent.Changed(otlpRecv, statusEvent(componentstatus.StatusOK))
			require.NoError(t, agent.Ready())

			uid := agent.uid.String()
			st := srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
				return a.UID == uid && a.Description != nil && a.Health.GetHealthy()
			})
			// Every upgrade is a TCP connection of its own; HTTP polls
			// share a kept-alive one.
			minDials := int64(1)
			if tr == "ws" {
				minDials = int64(len(srv.RequestHeaders()))
			}

			// Over HTTP the server has the poll before the client has the
			// answer that makes it connected.
			require.Eventually(t, func() bool { return agent.client.Load().Connected() }, waitTime, 10*time.Millisecond)
			metadatatest.AssertEqualOpampConnected(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
			// The client counts a delivery after its write (ws) or the
			// answer (http) returns, so the server may be a step ahead.
			assert.EventuallyWithT(t, func(c *assert.CollectT) {
				assert.GreaterOrEqual(c, sumValue(c, tel, "otelcol.opamp.connection_attempts", nil), minDials, "connection_attempts")
				assert.GreaterOrEqual(c, sumValue(c, tel, "otelcol.opamp.messages_sent", nil), int64(st.MessageCount), "messages_sent")
				// Network bytes carry framing on top of each protobuf.
				assert.Greater(c, sumValue(c, tel, "otelcol.opamp.bytes_sent", nil), int64(st.Bytes), "bytes_sent")
				assert.Positive(c, sumValue(c, tel, "otelcol.opamp.bytes_received", nil), "bytes_received")
				health := attribute.NewSet(attribute.String("kind", "health"))
				assert.GreaterOrEqual(c, sumValue(c, tel, "otelcol.opamp.reports_sent", &health), int64(1), "reports_sent{kind=health}")
				desc := attribute.NewSet(attribute.String("kind", "agent_description"))
				assert.GreaterOrEqual(c, sumValue(c, tel, "otelcol.opamp.reports_sent", &desc), int64(1), "reports_sent{kind=agent_description}")
			}, waitTime, 10*time.Millisecond)

			last := gaugeValue(t, tel, "otelcol.opamp.last_message_sent_time")
			assert.InDelta(t, time.Now().Unix(), last, 5, "last_message_sent_time is unix seconds of a recent delivery")
		})
	}
}

// sumValue returns the value of an int64 sum's data point with the given
// attributes (nil: the only point), failing c when there is none.
func sumValue(c assert.TestingT, tel *componenttest.Telemetry, name string, attrs *attribute.Set) int64 {
	m, err := tel.GetMetric(name)
	if !assert.NoError(c, err, name) {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !assert.True(c, ok, "%s is a %T, not an int64 sum", name, m.Data) {
		return 0
	}
	return pointValue(c, name, sum.DataPoints, attrs)
}

func gaugeValue(t *testing.T, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	require.NoError(t, err, name)
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.True(t, ok, "%s is a %T, not an int64 gauge", name, m.Data)
	return pointValue(t, name, g.DataPoints, nil)
}

func pointValue(c assert.TestingT, name string, dps []metricdata.DataPoint[int64], attrs *attribute.Set) int64 {
	if attrs == nil {
		if !assert.Len(c, dps, 1, "%s: data points", name) {
			return 0
		}
		return dps[0].Value
	}
	for _, dp := range dps {
		if dp.Attributes.Equals(attrs) {
			return dp.Value
		}
	}
	assert.Fail(c, "no data point", "%s has no point with %v", name, attrs.Encoded(attribute.DefaultEncoder()))
	return 0
}
