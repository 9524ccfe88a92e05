// Package selftelemetry is the extension's own telemetry: metrics through
// the Collector's meter, so an operator sees from the Collector's metrics
// whether the extension is connected and what it sends.
package selftelemetry

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/remoteconfig"
)

// Kinds of reports counted by otelcol.opamp.reports_queued.
const (
	ReportHealth           = "health"
	ReportEffectiveConfig  = "effective_config"
	ReportAgentDescription = "agent_description"
	ReportCustomMessage    = "custom_message"
)

// sentKinds names the kinds of otelcol.opamp.reports_sent.
var sentKinds = []struct {
	kind opampclient.Kind
	name string
}{
	{opampclient.KindAgentDescription, ReportAgentDescription},
	{opampclient.KindHealth, ReportHealth},
	{opampclient.KindEffectiveConfig, ReportEffectiveConfig},
	{opampclient.KindAvailableComponents, "available_components"},
	{opampclient.KindCustomCapabilities, "custom_capabilities"},
	{opampclient.KindCustomMessage, ReportCustomMessage},
	{opampclient.KindHeartbeat, "heartbeat"},
}

// The attribute options are built once per process: they are immutable,
// and a process may run many instances.
var (
	queuedOptions = func() map[string]metric.AddOption {
		m := map[string]metric.AddOption{}
		for _, k := range []string{ReportHealth, ReportEffectiveConfig, ReportAgentDescription, ReportCustomMessage} {
			m[k] = kindOption(k)
		}
		return m
	}()
	sentOptions = func() map[opampclient.Kind]metric.AddOption {
		m := map[opampclient.Kind]metric.AddOption{}
		for _, k := range sentKinds {
			m[k.kind] = kindOption(k.name)
		}
		return m
	}()
)

// Telemetry records the extension's metrics. Byte counts, which change on
// every network write, are atomics read by the meter's callbacks.
type Telemetry struct {
	tb        *metadata.TelemetryBuilder
	connected atomic.Bool

	bytesSent, bytesReceived atomic.Int64
	lastSent                 atomic.Int64 // unix seconds
}

var (
	_ opampclient.Observer        = (*Telemetry)(nil)
	_ opampclient.DiscardObserver = (*Telemetry)(nil)
)

// New creates the instruments on the component's meter.
func New(set component.TelemetrySettings) (*Telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{tb: tb}
	observe := func(v func() int64) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(v())
			return nil
		}
	}
	err = errors.Join(
		tb.RegisterOpampConnectedCallback(observe(func() int64 {
			if t.connected.Load() {
				return 1
			}
			return 0
		})),
		tb.RegisterOpampBytesSentCallback(observe(t.bytesSent.Load)),
		tb.RegisterOpampBytesReceivedCallback(observe(t.bytesReceived.Load)),
		tb.RegisterOpampLastMessageSentTimeCallback(observe(t.lastSent.Load)),
	)
	if err != nil {
		tb.Shutdown()
		return nil, err
	}
	return t, nil
}

// Connected implements opampclient.Observer.
func (t *Telemetry) Connected() {
	t.connected.Store(true)
	t.tb.OpampConnects.Add(context.Background(), 1)
}

// Disconnected implements opampclient.Observer.
func (t *Telemetry) Disconnected() {
	t.connected.Store(false)
	t.tb.OpampDisconnects.Add(context.Background(), 1)
}

// ConnectFailed implements opampclient.Observer.
func (t *Telemetry) ConnectFailed() {
	t.connected.Store(false)
	t.tb.OpampConnectFailures.Add(context.Background(), 1)
}

// Dialed implements opampclient.Observer.
func (t *Telemetry) Dialed() {
	t.tb.OpampConnectionAttempts.Add(context.Background(), 1)
}

// MessageSent implements opampclient.Observer.
func (t *Telemetry) MessageSent(kinds opampclient.Kind) {
	t.lastSent.Store(time.Now().Unix())
	ctx := context.Background()
	t.tb.OpampMessagesSent.Add(ctx, 1)
	for _, k := range sentKinds {
		if kinds&k.kind != 0 {
			t.tb.OpampReportsSent.Add(ctx, 1, sentOptions[k.kind])
		}
	}
}

// ReportDiscarded implements opampclient.DiscardObserver: a report left
// out of a message that would have exceeded the send limit.
func (t *Telemetry) ReportDiscarded(kind opampclient.Kind) {
	t.tb.OpampReportsDiscarded.Add(context.Background(), 1, sentOptions[kind])
}

// BytesSent implements opampclient.Observer.
func (t *Telemetry) BytesSent(n int) { t.bytesSent.Add(int64(n)) }

// BytesReceived implements opampclient.Observer.
func (t *Telemetry) BytesReceived(n int) { t.bytesReceived.Add(int64(n)) }

// MessageReceived implements opampclient.Observer.
func (t *Telemetry) MessageReceived() {
	t.tb.OpampMessagesReceived.Add(context.Background(), 1)
}

// ReportQueued counts a report of the given kind handed to the client.
func (t *Telemetry) ReportQueued(kind string) {
	t.tb.OpampReportsQueued.Add(context.Background(), 1, queuedOptions[kind])
}

func kindOption(k string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", k)))
}

// ObserveRemoteConfigs reports the remote configuration counts of the
// process, which totals returns: observed, not counted here, since the
// reload that applies a remote config replaces this Telemetry.
func (t *Telemetry) ObserveRemoteConfigs(totals func() remoteconfig.Counts) error {
	count := func(v func(remoteconfig.Counts) int64) metric.Int64Callback {
		return func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(v(totals()))
			return nil
		}
	}
	return errors.Join(
		t.tb.RegisterOpampRemoteConfigsReceivedCallback(count(func(c remoteconfig.Counts) int64 { return c.Received })),
		t.tb.RegisterOpampRemoteConfigsAppliedCallback(count(func(c remoteconfig.Counts) int64 { return c.Applied })),
		t.tb.RegisterOpampRemoteConfigsFailedCallback(count(func(c remoteconfig.Counts) int64 { return c.Failed })),
		t.tb.RegisterOpampRemoteConfigsRolledBackCallback(count(func(c remoteconfig.Counts) int64 { return c.RolledBack })),
		t.tb.RegisterOpampRemoteConfigApplyDurationCallback(func(_ context.Context, o metric.Float64Observer) error {
			o.Observe(totals().LastApply.Seconds())
			return nil
		}),
	)
}

// Shutdown unregisters the gauge callback.
func (t *Telemetry) Shutdown() { t.tb.Shutdown() }
