package selftelemetry

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/opampext/opampextension/internal/metadatatest"
	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/remoteconfig"
)

func TestMetrics(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	tel, err := New(metadatatest.NewSettings(tt).TelemetrySettings)
	require.NoError(t, err)
	defer tel.Shutdown()

	tel.ConnectFailed()
	tel.ConnectFailed()
	metadatatest.AssertEqualOpampConnected(t, tt, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	tel.Connected()
	tel.MessageReceived()
	tel.ReportQueued(ReportHealth)
	tel.ReportQueued(ReportHealth)
	tel.ReportQueued(ReportEffectiveConfig)

	metadatatest.AssertEqualOpampConnected(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampConnectFailures(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampConnects(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampMessagesReceived(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampReportsQueued(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("kind", ReportEffectiveConfig))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("kind", ReportHealth))},
	}, metricdatatest.IgnoreTimestamp())

	tel.Disconnected()
	metadatatest.AssertEqualOpampConnected(t, tt, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampDisconnects(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
}

// TestReportsDiscarded: each report left out for the send limit counts
// once, by kind.
func TestReportsDiscarded(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	tel, err := New(metadatatest.NewSettings(tt).TelemetrySettings)
	require.NoError(t, err)
	defer tel.Shutdown()

	tel.ReportDiscarded(opampclient.KindEffectiveConfig)
	tel.ReportDiscarded(opampclient.KindEffectiveConfig)
	tel.ReportDiscarded(opampclient.KindAvailableComponents)
	metadatatest.AssertEqualOpampReportsDiscarded(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("kind", "available_components"))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("kind", "effective_config"))},
	}, metricdatatest.IgnoreTimestamp())
}

// TestRemoteConfigMetrics: the remote config metrics observe the
// process's counts as they are at each collection.
func TestRemoteConfigMetrics(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	tel, err := New(metadatatest.NewSettings(tt).TelemetrySettings)
	require.NoError(t, err)
	defer tel.Shutdown()

	c := remoteconfig.Counts{Received: 5, Applied: 2, Failed: 3, RolledBack: 1, LastApply: 1500 * time.Millisecond}
	require.NoError(t, tel.ObserveRemoteConfigs(func() remoteconfig.Counts { return c }))
	metadatatest.AssertEqualOpampRemoteConfigsReceived(t, tt, []metricdata.DataPoint[int64]{{Value: 5}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampRemoteConfigsApplied(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampRemoteConfigsFailed(t, tt, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampRemoteConfigsRolledBack(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualOpampRemoteConfigApplyDuration(t, tt, []metricdata.DataPoint[float64]{{Value: 1.5}}, metricdatatest.IgnoreTimestamp())

	c.Received++
	metadatatest.AssertEqualOpampRemoteConfigsReceived(t, tt, []metricdata.DataPoint[int64]{{Value: 6}}, metricdatatest.IgnoreTimestamp())
}
