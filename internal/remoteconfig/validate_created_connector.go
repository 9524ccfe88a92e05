package remoteconfig

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/xconnector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/xconsumer"
)

// Connectors' factories recorded as the others' are (validate_created.go):
// one create per pair of signals.

func recordConnectors(m map[component.Type]connector.Factory, c *createdComponents) map[component.Type]connector.Factory {
	return wrapAll(m, func(f connector.Factory) connector.Factory {
		r := recConnector{Factory: f, c: c}
		if x, ok := f.(xconnector.Factory); ok {
			return xrecConnector{recConnector: r, x: x}
		}
		return r
	})
}

type recConnector struct {
	connector.Factory
	c *createdComponents
}

func (f recConnector) CreateTracesToTraces(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (connector.Traces, error) {
	return keep[connector.Traces](f.c)(f.Factory.CreateTracesToTraces(ctx, set, cfg, next))
}

func (f recConnector) CreateTracesToMetrics(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	return keep[connector.Traces](f.c)(f.Factory.CreateTracesToMetrics(ctx, set, cfg, next))
}

func (f recConnector) CreateTracesToLogs(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Traces, error) {
	return keep[connector.Traces](f.c)(f.Factory.CreateTracesToLogs(ctx, set, cfg, next))
}

func (f recConnector) CreateMetricsToTraces(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (connector.Metrics, error) {
	return keep[connector.Metrics](f.c)(f.Factory.CreateMetricsToTraces(ctx, set, cfg, next))
}

func (f recConnector) CreateMetricsToMetrics(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Metrics, error) {
	return keep[connector.Metrics](f.c)(f.Factory.CreateMetricsToMetrics(ctx, set, cfg, next))
}

func (f recConnector) CreateMetricsToLogs(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Metrics, error) {
	return keep[connector.Metrics](f.c)(f.Factory.CreateMetricsToLogs(ctx, set, cfg, next))
}

func (f recConnector) CreateLogsToTraces(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (connector.Logs, error) {
	return keep[connector.Logs](f.c)(f.Factory.CreateLogsToTraces(ctx, set, cfg, next))
}

func (f recConnector) CreateLogsToMetrics(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Logs, error) {
	return keep[connector.Logs](f.c)(f.Factory.CreateLogsToMetrics(ctx, set, cfg, next))
}

func (f recConnector) CreateLogsToLogs(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	return keep[connector.Logs](f.c)(f.Factory.CreateLogsToLogs(ctx, set, cfg, next))
}

// xrecConnector adds the profiles' pairs; x is a field, not embedded, so
// that the recorded creates above are not ambiguous with x's.
type xrecConnector struct {
	recConnector
	x xconnector.Factory
}

func (f xrecConnector) CreateTracesToProfiles(ctx context.Context, set connector.Settings, cfg component.Config, next xconsumer.Profiles) (connector.Traces, error) {
	return keep[connector.Traces](f.c)(f.x.CreateTracesToProfiles(ctx, set, cfg, next))
}

func (f xrecConnector) CreateMetricsToProfiles(ctx context.Context, set connector.Settings, cfg component.Config, next xconsumer.Profiles) (connector.Metrics, error) {
	return keep[connector.Metrics](f.c)(f.x.CreateMetricsToProfiles(ctx, set, cfg, next))
}

func (f xrecConnector) CreateLogsToProfiles(ctx context.Context, set connector.Settings, cfg component.Config, next xconsumer.Profiles) (connector.Logs, error) {
	return keep[connector.Logs](f.c)(f.x.CreateLogsToProfiles(ctx, set, cfg, next))
}

func (f xrecConnector) CreateProfilesToProfiles(ctx context.Context, set connector.Settings, cfg component.Config, next xconsumer.Profiles) (xconnector.Profiles, error) {
	return keep[xconnector.Profiles](f.c)(f.x.CreateProfilesToProfiles(ctx, set, cfg, next))
}

func (f xrecConnector) CreateProfilesToTraces(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (xconnector.Profiles, error) {
	return keep[xconnector.Profiles](f.c)(f.x.CreateProfilesToTraces(ctx, set, cfg, next))
}

func (f xrecConnector) CreateProfilesToMetrics(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (xconnector.Profiles, error) {
	return keep[xconnector.Profiles](f.c)(f.x.CreateProfilesToMetrics(ctx, set, cfg, next))
}

func (f xrecConnector) CreateProfilesToLogs(ctx context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (xconnector.Profiles, error) {
	return keep[xconnector.Profiles](f.c)(f.x.CreateProfilesToLogs(ctx, set, cfg, next))
}

func (f xrecConnector) TracesToProfilesStability() component.StabilityLevel {
	return f.x.TracesToProfilesStability()
}

func (f xrecConnector) MetricsToProfilesStability() component.StabilityLevel {
	return f.x.MetricsToProfilesStability()
}

func (f xrecConnector) LogsToProfilesStability() component.StabilityLevel {
	return f.x.LogsToProfilesStability()
}

func (f xrecConnector) ProfilesToProfilesStability() component.StabilityLevel {
	return f.x.ProfilesToProfilesStability()
}

func (f xrecConnector) ProfilesToTracesStability() component.StabilityLevel {
	return f.x.ProfilesToTracesStability()
}

func (f xrecConnector) ProfilesToMetricsStability() component.StabilityLevel {
	return f.x.ProfilesToMetricsStability()
}

func (f xrecConnector) ProfilesToLogsStability() component.StabilityLevel {
	return f.x.ProfilesToLogsStability()
}
