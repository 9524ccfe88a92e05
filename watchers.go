package opampextension

import (
	"context"
	"errors"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/effectiveconfig"
	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/remoteconfig"
	"github.com/opampext/opampextension/internal/selftelemetry"
)

// errNotStarted is returned by the health sink before Start and after
// Shutdown; the health reporter keeps the change and retries it later.
var errNotStarted = errors.New("the OpAMP client is not running")

// Changed (extensioncapabilities.ComponentStatusWatcher, the only status
// hook core v0.165 calls) is called synchronously on every component's
// status path, start-up included: it must never block. With reports_health
// off it does nothing at all.
func (a *opampAgent) Changed(id *componentstatus.InstanceID, ev *componentstatus.Event) {
	if a.health != nil {
		a.health.Changed(id, ev)
	}
	if remote := a.remote.Load(); remote != nil {
		remote.ComponentStatusChanged(id, ev)
	}
}

// Ready marks the pipelines as started: the agent becomes healthy.
//
// The health reporter queues the healthy report with the client, waking
// the client's sending goroutine; Ready does not yield to it. Core
// subscribes to SIGHUP only after every extension's Ready has returned
// (otelcol Collector.Run, after the service started), and until then a
// SIGHUP ends the process. A Supervisor with use_hup_config_reload sends
// one as soon as it sees the agent healthy: a report that left before
// core subscribed killed the Collector (the Supervisor's own
// TestSupervisorRestartCommand/HUPReload caught it). Left to the
// scheduler, the sender runs once core's goroutine blocks, which it does
// after subscribing.
func (a *opampAgent) Ready() error {
	if a.health != nil {
		_ = a.health.Ready() // always nil: it only flips a flag
	}
	a.restart.ready()
	if remote := a.remote.Load(); remote != nil {
		remote.Ready()
	}
	return nil
}

// NotReady marks the pipelines as stopping: the agent becomes unhealthy.
func (a *opampAgent) NotReady() error {
	a.restart.stopping()
	if remote := a.remote.Load(); remote != nil {
		remote.NotReady()
	}
	if a.health != nil {
		_ = a.health.NotReady() // always nil: it only flips a flag
	}
	return nil
}

func (a *opampAgent) sendHealth(h *protobufs.ComponentHealth) error {
	client := a.client.Load()
	if client == nil {
		return errNotStarted
	}
	a.telemetry.ReportQueued(selftelemetry.ReportHealth)
	return client.SetHealth(h)
}

// NotifyConfigSnapshot keeps the redacted effective config, built once per
// snapshot, and sends it when reporting is on. A config that cannot be
// rendered is logged and does not fail the Collector.
func (a *opampAgent) NotifyConfigSnapshot(ctx context.Context, snap extensioncapabilities.ConfigSnapshot) error {
	// One copy serves both readers: Effective deep-copies the whole config
	// at every call, and core calls this on its start path, before the
	// pipelines start.
	effective := snap.Effective()
	a.noteIdentity(effective)
	if !a.cfg.Capabilities.ReportsEffectiveConfig {
		return nil
	}
	ec, err := effectiveconfig.Build(effective, a.unexpanded(snap), a.cfg.reportsRawConfig())
	if err != nil {
		a.logger.Warn("Cannot render the effective configuration; the server keeps the last one", zap.Error(err))
		return nil
	}
	a.mu.Lock()
	a.effective = ec
	a.mu.Unlock()
	first := !a.hasSnapshot()
	a.firstSnapshotOnce.Do(func() { close(a.firstSnapshot) })
	if client := a.client.Load(); client != nil {
		a.telemetry.ReportQueued(selftelemetry.ReportEffectiveConfig)
		if err := client.UpdateEffectiveConfig(ctx); err != nil {
			a.logger.Debug("Cannot queue the effective configuration", zap.Error(err))
		}
		if first {
			a.waitFirstSent(client)
		}
	}
	return nil
}

// waitFirstSent holds the first snapshot, at most firstSendWait, until the
// client's first message has left (see firstSendWait).
func (a *opampAgent) waitFirstSent(client *opampclient.Client) {
	t := time.NewTimer(firstSendWait)
	defer t.Stop()
	select {
	case <-client.FirstSent():
	case <-t.C:
	case <-a.stopping:
	}
}

// firstSnapshotWait bounds how long the first message waits for
// the Collector's first config snapshot, which follows the extensions'
// Start by milliseconds unless another extension starts slowly.
const firstSnapshotWait = time.Second

// firstSendWait bounds how long the first config snapshot holds core's
// start for the client's first message (description, health, effective
// config: about 3 kB) to leave. Core starts the pipelines right after the
// snapshot; a first message still on its way when they are ready makes
// the healthy report queue behind it (about 1 ms), while one already sent
// lets it follow at once.
var firstSendWait = 5 * time.Millisecond // a test lengthens it

// getEffectiveConfig is the client's source of the effective config. The
// client asks before its first message, on its own goroutine, which
// follows the extensions' Start by far less than the Collector's first
// snapshot; so until that snapshot arrives this waits for it (bounded),
// which puts the config into the first message instead of a second one.
func (a *opampAgent) getEffectiveConfig(ctx context.Context) (*protobufs.EffectiveConfig, error) {
	if a.cfg.Capabilities.ReportsEffectiveConfig && !a.hasSnapshot() {
		t := time.NewTimer(firstSnapshotWait)
		select {
		case <-a.firstSnapshot:
		case <-t.C:
		case <-ctx.Done():
		case <-a.stopping:
		}
		t.Stop()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.effective, nil
}

// hasSnapshot reports, without waiting, whether the first snapshot came:
// the common case once running, where no timer is needed.
func (a *opampAgent) hasSnapshot() bool {
	select {
	case <-a.firstSnapshot:
		return true
	default:
		return false
	}
}

// unexpanded is the config as written: the snapshot's (core takes it
// before converters run) with the remote part merged over it, so a remote
// value that came from a reference ("${env:WEBHOOK_SECRET}", where
// remote_config.allowed_providers opens env) is redacted by its source
// like a local one, and the raw report shows what the server wrote.
func (a *opampAgent) unexpanded(snap extensioncapabilities.ConfigSnapshot) *confmap.Conf {
	local := snap.Unexpanded()
	if !a.cfg.Capabilities.AcceptsRemoteConfig || local == nil {
		return local
	}
	raw := remoteconfig.RawRemote(a.cfg.Storage.Directory)
	if raw == nil {
		return local
	}
	merged := confmap.NewFromStringMap(local.ToStringMap())
	if err := merged.Merge(confmap.NewFromStringMap(raw)); err != nil {
		a.logger.Debug("Cannot merge the remote config as written; redacting by key and shape only", zap.Error(err))
		return local
	}
	return merged
}
