package opampextension

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/service/hostcapabilities"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/agentdesc"
	"github.com/opampext/opampextension/internal/components"
	"github.com/opampext/opampextension/internal/custommsg"
	"github.com/opampext/opampextension/internal/health"
	"github.com/opampext/opampextension/internal/instanceuid"
	"github.com/opampext/opampextension/internal/opampclient"
	"github.com/opampext/opampextension/internal/parentwatch"
	"github.com/opampext/opampextension/internal/persist"
	"github.com/opampext/opampextension/internal/reload"
	"github.com/opampext/opampextension/internal/remoteconfig"
	"github.com/opampext/opampextension/internal/selftelemetry"
)

// opampAgent is the extension: it owns the OpAMP client and feeds it what the
// Collector tells its extensions (status, pipelines, configuration).
type opampAgent struct {
	cfg       *Config
	set       extension.Settings
	logger    *zap.Logger
	startTime time.Time

	health    *health.Reporter // nil when reports_health is false
	registry  *custommsg.Registry
	telemetry *selftelemetry.Telemetry
	keeper    instanceuid.Keeper

	// lifeMu serialises Start and Shutdown; it is held across blocking
	// calls, so callbacks never take it.
	lifeMu sync.Mutex
	parent *parentwatch.Watcher
	// client is read by callbacks without locks.
	client  atomic.Pointer[opampclient.Client]
	restart *restarter
	// remote applies remote configuration; nil unless accepted.
	remote atomic.Pointer[remoteconfig.Manager]
	// offers applies connection-settings offers; nil unless accepted.
	offers atomic.Pointer[offers]
	// connStatus joins the parts of the connection settings status.
	connStatus statusJoin
	// orphaned holds why the parent watch ended the Collector. Shutdown
	// returns it: core exits 0 after a fatal status event, and the
	// Supervisor (or any init system) must see a failure instead.
	orphaned atomic.Pointer[error]

	// firstSnapshot is closed by the first NotifyConfigSnapshot; stopping
	// by Shutdown. Both are closed once, through their sync.Once.
	firstSnapshot     chan struct{}
	firstSnapshotOnce sync.Once
	stopping          chan struct{}
	stoppingOnce      sync.Once

	// mu guards the reported state; never held across a blocking call.
	mu        sync.Mutex
	uid       uuid.UUID
	identity  identity
	effective *protobufs.EffectiveConfig
}

var (
	_ extension.Extension                          = (*opampAgent)(nil)
	_ extensioncapabilities.Dependent              = (*opampAgent)(nil)
	_ extensioncapabilities.ConfigSnapshotWatcher  = (*opampAgent)(nil)
	_ extensioncapabilities.PipelineWatcher        = (*opampAgent)(nil)
	_ extensioncapabilities.ComponentStatusWatcher = (*opampAgent)(nil)
	_ opampcustommessages.CustomCapabilityRegistry = (*opampAgent)(nil)
)

func newOpAMPAgent(cfg *Config, set extension.Settings) (*opampAgent, error) {
	var resID string
	if v, ok := set.Resource.Attributes().Get("service.instance.id"); ok {
		resID = v.AsString()
	}
	store, err := uidStore(cfg)
	if err != nil {
		return nil, err
	}
	keeper := instanceuid.NewKeeper(store, set.ID.String(), cfg.InstanceUID, resID)
	uid, prevResConfigured, known := keeper.Load()
	source := "kept from before the last reload or restart"
	if !known {
		var err error
		if uid, source, err = instanceuid.Resolve(cfg.InstanceUID, resID); err != nil {
			return nil, fmt.Errorf("instance_uid: %w", err)
		}
		// Whether the config set service.instance.id is known at the first
		// config snapshot, which saves again (noteIdentity).
		if err := keeper.Save(uid, false); err != nil {
			set.Logger.Debug("Cannot remember the instance uid", zap.Error(err))
		}
	}
	set.Logger.Debug("Resolved the OpAMP instance uid", zap.String("instance_uid", uid.String()), zap.String("source", source))
	tel, err := selftelemetry.New(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("own telemetry: %w", err)
	}
	a := &opampAgent{
		telemetry: tel,
		cfg:       cfg,
		set:       set,
		logger:    set.Logger,
		startTime: time.Now(),
		uid:       uid,
		keeper:    keeper,
		identity:  identity{resourceID: resID, prevConfigured: prevResConfigured, injected: injectedResourceID(cfg, resID)},
		restart:   newRestarter(set.Logger, reload.Self),
		registry:  custommsg.NewRegistry(set.Logger, custommsg.WithMaxMessageSize(cfg.CustomMessages.MaxMessageSize)),

		firstSnapshot: make(chan struct{}),
		stopping:      make(chan struct{}),
	}
	if cfg.Capabilities.ReportsHealth {
		a.health = health.New(health.Settings{
			Logger:    set.Logger,
			StartTime: a.startTime,
			Sink:      a.sendHealth,
		})
	}
	return a, nil
}

// uidStore is where the instance uid is remembered: the process, across
// reloads; with storage.directory and no configured instance_uid, also the
// directory, so a restarted agent is the same agent to its server (a
// generated or server-assigned uid would otherwise change on every start).
func uidStore(cfg *Config) (persist.Store, error) {
	if cfg.Storage.Directory == "" || cfg.InstanceUID != "" {
		return persist.Process(), nil
	}
	st, err := persist.NewStateDir(cfg.Storage.Directory)
	if err != nil {
		return nil, fmt.Errorf("storage.directory: %w", err)
	}
	return st, nil
}

// Dependencies makes the Collector start the authenticator before us.
func (a *opampAgent) Dependencies() []component.ID {
	if auth := a.cfg.serverSettings().Auth; auth != nil {
		return []component.ID{*auth}
	}
	return nil
}

func (a *opampAgent) Start(ctx context.Context, host component.Host) error {
	a.lifeMu.Lock()
	defer a.lifeMu.Unlock()

	cs, err := buildStartSettings(ctx, a.cfg, host, a.logger)
	if err != nil {
		return err
	}
	a.mu.Lock()
	uid := a.uid
	a.mu.Unlock()
	cs.InstanceUID = [16]byte(uid)
	cs.Description = agentdesc.Build(agentdesc.Input{
		InstanceUID:               uid,
		Resource:                  a.set.Resource.Attributes(),
		BuildInfo:                 a.set.BuildInfo,
		NonIdentifying:            a.cfg.AgentDescription.NonIdentifyingAttributes,
		IncludeResourceAttributes: a.cfg.AgentDescription.IncludeResourceAttributes,
		Host:                      agentdesc.DefaultHost(),
		Logger:                    a.logger,
	})
	cs.Capabilities = protobufs.AgentCapabilities_AgentCapabilities_ReportsStatus
	cs.Observer = a.telemetry
	cs.Handler = opampclient.Handler{
		OnConnected:          a.requestCertificate,
		OnMessage:            a.onMessage,
		OnCommand:            a.onCommand,
		OnConnectionSettings: a.onConnectionOffers,
		OnConnectionReverted: a.onConnectionReverted,
		GetEffectiveConfig:   a.getEffectiveConfig,
	}
	caps := &a.cfg.Capabilities
	if caps.ReportsEffectiveConfig {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig
	}
	if a.health != nil {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsHealth
		cs.Health = a.health.Current()
	}
	if caps.AcceptsRestartCommand {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_AcceptsRestartCommand
	}
	if caps.ReportsHeartbeat {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat
	}
	if caps.AcceptsRemoteConfig {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_AcceptsRemoteConfig
	}
	if a.cfg.reportsRemoteConfig() {
		cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsRemoteConfig
	}
	remote, err := a.newRemoteConfig(host)
	if err != nil {
		return err
	}
	off, err := a.setUpOffers(&cs)
	if err != nil {
		return err
	}
	if caps.ReportsAvailableComponents {
		if mi, ok := host.(hostcapabilities.ModuleInfo); ok {
			cs.AvailableComponents = components.Build(mi.GetModuleInfos())
			cs.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsAvailableComponents
		} else {
			a.logger.Warn("capabilities.reports_available_components is on but the host does not expose module info; not reporting them")
		}
	}

	client, err := opampclient.Start(ctx, cs)
	if err != nil {
		return err
	}
	a.client.Store(client)
	// The server may have assigned a new uid before the client was stored,
	// when adoptInstanceUID could not send the description yet, or the
	// first snapshot adopted a configured one (noteIdentity), which the
	// client does not know yet either.
	a.mu.Lock()
	latest := a.uid
	a.mu.Unlock()
	if latest != uid {
		if client.InstanceUID() != [16]byte(latest) {
			client.SetInstanceUID([16]byte(latest))
		}
		a.sendDescription(client, latest)
	}
	a.registry.Attach(countingSender{Client: client, tel: a.telemetry})
	if off != nil {
		a.offers.Store(off)
		off.start(a, client)
	}
	if remote != nil {
		a.remote.Store(remote)
		remote.Start()
	}
	if a.health != nil {
		a.health.Start()
	}

	if a.cfg.PPID != 0 {
		w, err := parentwatch.New(int(a.cfg.PPID), a.cfg.PPIDPollInterval, a.logger, func(err error) {
			// Info, not error: the Collector logs the fatal status as
			// its error, with this same error, and exits non-zero.
			a.logger.Info("The parent process is gone; shutting the Collector down", zap.Error(err))
			a.orphaned.Store(&err)
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		})
		if err != nil {
			return errors.Join(fmt.Errorf("ppid: %w", err), a.stopLocked(ctx))
		}
		a.parent = w
		w.Start()
	}
	return nil
}

func (a *opampAgent) Shutdown(ctx context.Context) error {
	a.lifeMu.Lock()
	defer a.lifeMu.Unlock()
	return a.stopLocked(ctx)
}

// stopLocked stops everything Start started, in reverse order. It is safe on
// a never-started extension and idempotent.
func (a *opampAgent) stopLocked(ctx context.Context) error {
	a.stoppingOnce.Do(func() { close(a.stopping) })
	a.restart.stopping()
	var errs []error
	if a.parent != nil {
		a.parent.Stop()
		a.parent = nil
	}
	if a.health != nil {
		errs = append(errs, a.health.Shutdown(ctx))
	}
	a.registry.Detach()
	var restart bool
	if remote := a.remote.Swap(nil); remote != nil {
		restart = remote.Shutdown()
	}
	if off := a.offers.Swap(nil); off != nil {
		if err := off.shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop connection settings: %w", err))
		}
	}
	if client := a.client.Swap(nil); client != nil {
		if err := client.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop OpAMP client: %w", err))
		}
	}
	a.telemetry.Shutdown()
	if restart {
		a.restartProcess() // returns only when it could not
	}
	if orphaned := a.orphaned.Load(); orphaned != nil {
		errs = append(errs, fmt.Errorf("ppid: %w", *orphaned))
	}
	return errors.Join(errs...)
}

// Register implements contrib's CustomCapabilityRegistry so components
// written for contrib's opamp extension work unchanged.
func (a *opampAgent) Register(capability string, opts ...opampcustommessages.CustomCapabilityRegisterOption) (opampcustommessages.CustomCapabilityHandler, error) {
	return a.registry.Register(capability, opts...)
}

// countingSender counts the custom messages components send.
type countingSender struct {
	*opampclient.Client
	tel *selftelemetry.Telemetry
}

var _ custommsg.Client = countingSender{}

func (c countingSender) SendCustomMessage(m *protobufs.CustomMessage) (chan struct{}, error) {
	ch, err := c.Client.SendCustomMessage(m)
	if err == nil {
		c.tel.ReportQueued(selftelemetry.ReportCustomMessage)
	}
	return ch, err
}
