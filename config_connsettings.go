package opampextension

import (
	"errors"
	"fmt"
	"time"

	"github.com/opampext/opampextension/internal/reload"
)

// ConnectionSettingsConfig bounds how connection-settings offers are
// applied.
type ConnectionSettingsConfig struct {
	// TryTimeout is how long an offered connection has to work (connect
	// and answer the agent's full state) before the offer is FAILED and
	// the agent stays where it is.
	TryTimeout time.Duration `mapstructure:"try_timeout"`
	// CertificateRequest asks the server for a client certificate by CSR
	// (a key made on the agent) when there is none, or the one in use
	// ends within CertificateRenewBefore.
	CertificateRequest     bool          `mapstructure:"certificate_request"`
	CertificateRenewBefore time.Duration `mapstructure:"certificate_renew_before"`
	// OwnMetricsInterval is how often own metrics go to a destination the
	// server offered (capabilities.reports_own_metrics).
	OwnMetricsInterval time.Duration `mapstructure:"own_metrics_interval"`
}

const (
	defaultTryTimeout  = 10 * time.Second
	defaultRenewBefore = 720 * time.Hour
	// defaultOwnMetricsInterval is the OTLP periodic reader's own default.
	defaultOwnMetricsInterval = time.Minute
	maxTryTimeout             = 5 * time.Minute
	pathConnSettings          = "connection_settings"
	pathAcceptsConnOffers     = "capabilities.accepts_opamp_connection_settings"
)

func defaultConnectionSettings() ConnectionSettingsConfig {
	return ConnectionSettingsConfig{TryTimeout: defaultTryTimeout, CertificateRenewBefore: defaultRenewBefore, OwnMetricsInterval: defaultOwnMetricsInterval}
}

// reportsConnectionSettingsStatus: reports_connection_settings_status,
// defaulting to on when any offer is taken (the OpAMP settings or own
// telemetry).
func (c *Config) reportsConnectionSettingsStatus() bool {
	if c.Capabilities.ReportsConnectionSettingsStatus != nil {
		return *c.Capabilities.ReportsConnectionSettingsStatus
	}
	return c.Capabilities.AcceptsOpAMPConnectionSettings || c.reportsOwnTelemetry()
}

// reportsOwnTelemetry: any of reports_own_metrics, _logs, _traces.
func (c *Config) reportsOwnTelemetry() bool {
	caps := &c.Capabilities
	return caps.ReportsOwnMetrics || caps.ReportsOwnLogs || caps.ReportsOwnTraces
}

func (c *Config) validateConnectionSettings() []error {
	var errs []error
	cs := &c.ConnectionSettings
	if cs.TryTimeout <= 0 || cs.TryTimeout > maxTryTimeout {
		errs = append(errs, fmt.Errorf("%s.try_timeout: must be between 0 and %s, got %s", pathConnSettings, maxTryTimeout, cs.TryTimeout))
	}
	if cs.OwnMetricsInterval <= 0 {
		errs = append(errs, fmt.Errorf("%s.own_metrics_interval: must be positive, got %s", pathConnSettings, cs.OwnMetricsInterval))
	}
	if cs.CertificateRenewBefore < 0 {
		errs = append(errs, fmt.Errorf("%s.certificate_renew_before: must not be negative, got %s", pathConnSettings, cs.CertificateRenewBefore))
	}
	if cs.CertificateRequest && !c.Capabilities.AcceptsOpAMPConnectionSettings {
		errs = append(errs, fmt.Errorf("%s.certificate_request: needs %s (the certificate comes back as an offer)", pathConnSettings, pathAcceptsConnOffers))
	}
	if c.reportsOwnTelemetry() {
		if err := reload.Supported(); err != nil {
			errs = append(errs, fmt.Errorf("capabilities.reports_own_*: %w", err))
		}
	}
	if c.Storage.Directory == "" {
		if c.Capabilities.AcceptsOpAMPConnectionSettings {
			errs = append(errs, errors.New("storage.directory: required with "+pathAcceptsConnOffers))
		}
		if c.reportsOwnTelemetry() {
			errs = append(errs, errors.New("storage.directory: required with capabilities.reports_own_metrics, reports_own_logs or reports_own_traces"))
		}
	}
	return errs
}
