// Package selftelemetry is the extension's own telemetry: metrics through
// the Collector's meter, so an operator sees from the Collector's metrics
// whether the extension is connected and what it sends.
package selftelemetry

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/opampext/opampextension/internal/metadata"
	"github.com/opampext/opampextension/internal/opampclient"
)

// Kinds of reports counted by otelcol.opamp.reports_queued.
const (
	ReportHealth           = "health"
	ReportEffectiveConfig  = "effective_config"
	ReportAgentDescription = "agent_description"
	ReportCustomMessage    = "custom_message"
)

// Telemetry records the extension's metrics.
type Telemetry struct {
	tb        *metadata.TelemetryBuilder
	connected atomic.Bool
	kinds     map[string]metric.AddOption
}

var _ opampclient.Observer = (*Telemetry)(nil)

// New creates the instruments on the component's meter.
func New(set component.TelemetrySettings) (*Telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	t := &Telemetry{tb: tb, kinds: map[string]metric.AddOption{}}
	for _, k := range []string{ReportHealth, ReportEffectiveConfig, ReportAgentDescription, ReportCustomMessage} {
		t.kinds[k] = metric.WithAttributeSet(attribute.NewSet(attribute.String("kind", k)))
	}
	err = tb.RegisterOpampConnectedCallback(func(_ context.Context, o metric.Int64Observer) error {
		v := int64(0)
		if t.connected.Load() {
			v = 1
		}
		o.Observe(v)
		return nil
	})
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

// MessageReceived implements opampclient.Observer.
func (t *Telemetry) MessageReceived() {
	t.tb.OpampMessagesReceived.Add(context.Background(), 1)
}

// ReportQueued counts a report of the given kind handed to the client.
func (t *Telemetry) ReportQueued(kind string) {
	t.tb.OpampReportsQueued.Add(context.Background(), 1, t.kinds[kind])
}

// Shutdown unregisters the gauge callback.
func (t *Telemetry) Shutdown() { t.tb.Shutdown() }
