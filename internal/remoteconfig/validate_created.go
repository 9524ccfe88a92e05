package remoteconfig

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/xconsumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/xexporter"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/xprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/xreceiver"
)

// Building the pipelines' graph (service.Validate) creates every pipeline
// component and drops it. In the `validate` process that exits, nothing
// is left; here a factory may keep what it created until its Shutdown
// (otlp's receivers stay in a map shared by config until then), one more
// each validation. The factories given to the graph are wrapped to record
// what they create, and HostValidator shuts it all down afterwards: a
// component must accept Shutdown without Start. (The memory limiter's
// factory keeps one entry per config created, Shutdown or not, as it does
// on every reload.)

// createdComponents records what the wrapped factories created.
type createdComponents struct {
	mu   sync.Mutex
	list []component.Component
}

func (c *createdComponents) shutdown(ctx context.Context) {
	c.mu.Lock()
	list := c.list
	c.list = nil
	c.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		_ = list[i].Shutdown(ctx) // nothing was started; an error here changes no verdict
	}
}

// keep returns a function that records a created component of type T.
func keep[T component.Component](c *createdComponents) func(T, error) (T, error) {
	return func(x T, err error) (T, error) {
		if err == nil {
			c.mu.Lock()
			c.list = append(c.list, x)
			c.mu.Unlock()
		}
		return x, err
	}
}

// wrapAll wraps every factory of a map with wrap.
func wrapAll[F any](m map[component.Type]F, wrap func(F) F) map[component.Type]F {
	out := make(map[component.Type]F, len(m))
	for t, f := range m {
		out[t] = wrap(f)
	}
	return out
}

// Receivers.

func recordReceivers(m map[component.Type]receiver.Factory, c *createdComponents) map[component.Type]receiver.Factory {
	return wrapAll(m, func(f receiver.Factory) receiver.Factory {
		r := recReceiver{Factory: f, c: c}
		if x, ok := f.(xreceiver.Factory); ok {
			return xrecReceiver{recReceiver: r, x: x}
		}
		return r
	})
}

type recReceiver struct {
	receiver.Factory
	c *createdComponents
}

func (f recReceiver) CreateTraces(ctx context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	return keep[receiver.Traces](f.c)(f.Factory.CreateTraces(ctx, set, cfg, next))
}

func (f recReceiver) CreateMetrics(ctx context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	return keep[receiver.Metrics](f.c)(f.Factory.CreateMetrics(ctx, set, cfg, next))
}

func (f recReceiver) CreateLogs(ctx context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return keep[receiver.Logs](f.c)(f.Factory.CreateLogs(ctx, set, cfg, next))
}

type xrecReceiver struct {
	recReceiver
	x xreceiver.Factory
}

func (f xrecReceiver) CreateProfiles(ctx context.Context, set receiver.Settings, cfg component.Config, next xconsumer.Profiles) (xreceiver.Profiles, error) {
	return keep[xreceiver.Profiles](f.c)(f.x.CreateProfiles(ctx, set, cfg, next))
}

func (f xrecReceiver) ProfilesStability() component.StabilityLevel { return f.x.ProfilesStability() }

// Processors.

func recordProcessors(m map[component.Type]processor.Factory, c *createdComponents) map[component.Type]processor.Factory {
	return wrapAll(m, func(f processor.Factory) processor.Factory {
		r := recProcessor{Factory: f, c: c}
		if x, ok := f.(xprocessor.Factory); ok {
			return xrecProcessor{recProcessor: r, x: x}
		}
		return r
	})
}

type recProcessor struct {
	processor.Factory
	c *createdComponents
}

func (f recProcessor) CreateTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return keep[processor.Traces](f.c)(f.Factory.CreateTraces(ctx, set, cfg, next))
}

func (f recProcessor) CreateMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	return keep[processor.Metrics](f.c)(f.Factory.CreateMetrics(ctx, set, cfg, next))
}

func (f recProcessor) CreateLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return keep[processor.Logs](f.c)(f.Factory.CreateLogs(ctx, set, cfg, next))
}

type xrecProcessor struct {
	recProcessor
	x xprocessor.Factory
}

func (f xrecProcessor) CreateProfiles(ctx context.Context, set processor.Settings, cfg component.Config, next xconsumer.Profiles) (xprocessor.Profiles, error) {
	return keep[xprocessor.Profiles](f.c)(f.x.CreateProfiles(ctx, set, cfg, next))
}

func (f xrecProcessor) ProfilesStability() component.StabilityLevel { return f.x.ProfilesStability() }

// Exporters.

func recordExporters(m map[component.Type]exporter.Factory, c *createdComponents) map[component.Type]exporter.Factory {
	return wrapAll(m, func(f exporter.Factory) exporter.Factory {
		r := recExporter{Factory: f, c: c}
		if x, ok := f.(xexporter.Factory); ok {
			return xrecExporter{recExporter: r, x: x}
		}
		return r
	})
}

type recExporter struct {
	exporter.Factory
	c *createdComponents
}

func (f recExporter) CreateTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	return keep[exporter.Traces](f.c)(f.Factory.CreateTraces(ctx, set, cfg))
}

func (f recExporter) CreateMetrics(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	return keep[exporter.Metrics](f.c)(f.Factory.CreateMetrics(ctx, set, cfg))
}

func (f recExporter) CreateLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	return keep[exporter.Logs](f.c)(f.Factory.CreateLogs(ctx, set, cfg))
}

type xrecExporter struct {
	recExporter
	x xexporter.Factory
}

func (f xrecExporter) CreateProfiles(ctx context.Context, set exporter.Settings, cfg component.Config) (xexporter.Profiles, error) {
	return keep[xexporter.Profiles](f.c)(f.x.CreateProfiles(ctx, set, cfg))
}

func (f xrecExporter) ProfilesStability() component.StabilityLevel { return f.x.ProfilesStability() }
