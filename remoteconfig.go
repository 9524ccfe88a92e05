package opampextension

import (
	"errors"
	"fmt"
	"os"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/component"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/reload"
	"github.com/opampext/opampextension/internal/remoteconfig"
)

// reportsRemoteConfig: reports_remote_config, defaulting to
// accepts_remote_config.
func (c *Config) reportsRemoteConfig() bool {
	if c.Capabilities.ReportsRemoteConfig != nil {
		return *c.Capabilities.ReportsRemoteConfig
	}
	return c.Capabilities.AcceptsRemoteConfig
}

func (c *Config) validateRemoteConfig() []error {
	if !c.Capabilities.AcceptsRemoteConfig {
		return nil
	}
	var errs []error
	if c.Storage.Directory == "" {
		errs = append(errs, errors.New("storage.directory: required with capabilities.accepts_remote_config"))
	}
	if c.RemoteConfig.ApplyTimeout <= 0 {
		errs = append(errs, fmt.Errorf("remote_config.apply_timeout: must be positive, got %s", c.RemoteConfig.ApplyTimeout))
	}
	if err := reload.Supported(); err != nil {
		errs = append(errs, fmt.Errorf("capabilities.accepts_remote_config: %w", err))
	}
	if err := remoteconfig.CheckAllowedProviders(c.RemoteConfig.AllowedProviders); err != nil {
		errs = append(errs, fmt.Errorf("remote_config.allowed_providers: %w", err))
	}
	return errs
}

// How an apply validates, reloads and restarts the process after a
// reload that could not start; tests replace them (a test binary has no
// validate command, a signal would reach every Collector of the test
// process, and an exec would replace the test binary).
var (
	remoteReload    = reload.Self
	remoteRestart   = remoteconfig.Reexec
	remoteValidator = func(dir string) (remoteconfig.Validator, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		return remoteconfig.ExecValidator{Path: exe, Dir: dir}, nil
	}
)

// newRemoteConfig builds the remote config manager when the extension
// accepts remote config, or sends its own telemetry where the server
// offers (a layer the same manager applies).
func (a *opampAgent) newRemoteConfig(host component.Host) (*remoteconfig.Manager, error) {
	if !a.cfg.Capabilities.AcceptsRemoteConfig && !a.cfg.reportsOwnTelemetry() {
		return nil, nil
	}
	v, err := remoteValidator(a.cfg.Storage.Directory)
	if err != nil {
		return nil, fmt.Errorf("remote config validator: %w", err)
	}
	// In this process, with the running Collector's own factories (the
	// validate command's steps, without starting a Collector); the
	// command itself where the host does not expose them.
	v = remoteconfig.NewHostValidator(host, v)
	rules := remoteconfig.Rules{
		Own:     a.set.ID.String(),
		Denied:  a.cfg.RemoteConfig.DeniedComponents,
		Allowed: a.cfg.RemoteConfig.AllowedComponents,
	}
	if auth := a.cfg.serverSettings().Auth; auth != nil {
		rules.Protected = append(rules.Protected, auth.String())
	}
	set := remoteconfig.Settings{
		Logger:       a.logger,
		Dir:          a.cfg.Storage.Directory,
		Rules:        rules,
		Validator:    v,
		Reload:       remoteReload,
		ApplyTimeout: a.cfg.RemoteConfig.ApplyTimeout,
		// Own telemetry's reader interval, for a destination offered.
		OwnMetricsInterval: a.cfg.ConnectionSettings.OwnMetricsInterval,
		// Where the process cannot execute itself, Validate refused
		// accepts_remote_config already (reload.Supported).
		RestartOnFailedStart: true,
		// A reloaded service stuck in its start never handles the
		// rollback's SIGHUP: the process is executed again instead.
		Restart: remoteRestart,
	}
	if a.cfg.reportsRemoteConfig() {
		set.Report = a.sendRemoteConfigStatus
	}
	if a.cfg.reportsConnectionSettingsStatus() {
		set.ReportConnection = func(s *protobufs.ConnectionSettingsStatus) {
			if err := a.setConnStatus(true, s); err != nil {
				a.logger.Debug("Cannot queue the own-telemetry status", zap.Error(err))
			}
		}
	}
	m, err := remoteconfig.New(set)
	if err != nil {
		return nil, fmt.Errorf("storage.directory: %w", err)
	}
	if err := a.telemetry.ObserveRemoteConfigs(remoteconfig.Totals); err != nil {
		return nil, fmt.Errorf("own telemetry: %w", err)
	}
	return m, nil
}

func (a *opampAgent) sendRemoteConfigStatus(s *protobufs.RemoteConfigStatus) {
	client := a.client.Load()
	if client == nil {
		return // the next instance reports it from the state on disk
	}
	if err := client.SetRemoteConfigStatus(s); err != nil {
		a.logger.Debug("Cannot queue the remote config status", zap.Error(err))
	}
}

// restartProcess executes the process again after a reloaded service
// failed to start, once the extension has stopped its client (the server
// sees a clean disconnect, then the same agent again). The new process
// image resolves the last healthy configuration and reports the FAILED
// status left on disk.
func (a *opampAgent) restartProcess() {
	a.logger.Warn("The Collector could not start with the remote configuration; restarting the process on the last healthy configuration")
	_ = a.logger.Sync() // stderr may not support fsync
	if err := remoteRestart(); err != nil {
		a.logger.Error("Cannot restart the process; the Collector exits", zap.Error(err))
	}
}
