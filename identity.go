package opampextension

import (
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"

	"github.com/opampext/opampextension/internal/instanceuid"
	"github.com/opampext/opampextension/internal/remoteconfig"
)

// identity is what the instance uid was resolved from, beyond the
// configured instance_uid: the resource's service.instance.id and whether
// the config sets it. Guarded by opampAgent.mu.
type identity struct {
	resourceID string
	// prevConfigured: the previous instance's config set
	// service.instance.id (then the keeper kept the uid only because this
	// one's is the same).
	prevConfigured bool
	// configured: this instance's config sets it (known from the first
	// config snapshot).
	configured bool
	noted      bool
	// injected: the service.instance.id is the one the own-telemetry
	// layer set to this agent's uid, not the user's: it does not count as
	// configured, so turning own telemetry off keeps the uid.
	injected bool
}

// injectedResourceID says whether resID is the service.instance.id the
// converter set for the own-telemetry layer of cfg's state directory.
func injectedResourceID(cfg *Config, resID string) bool {
	return cfg.Storage.Directory != "" && resID != "" && resID == remoteconfig.InjectedInstanceID(cfg.Storage.Directory)
}

// noteIdentity runs on every config snapshot; the first one tells whether
// the config sets service.instance.id, which the keeper records for the
// next instance. When it does and the previous instance's config did not
// (a reload that added it), the uid follows it as a restart would: a
// configured service.instance.id identifies the agent to OpAMP and to the
// Collector's own telemetry alike. The first snapshot comes before the
// first message unless another extension starts slowly (see
// getEffectiveConfig); after it the server sees the new uid as a new
// agent, as with one it assigned.
func (a *opampAgent) noteIdentity(conf *confmap.Conf) {
	a.mu.Lock()
	configured := instanceuid.ResourceIDConfigured(conf) && !a.identity.injected
	if a.identity.noted {
		a.mu.Unlock()
		return
	}
	a.identity.noted, a.identity.configured = true, configured
	uid := a.uid
	adopt := false
	if configured && !a.identity.prevConfigured {
		if id, source, err := instanceuid.Resolve(a.cfg.InstanceUID, a.identity.resourceID); err == nil && source == instanceuid.SourceResource && id != uid {
			uid, adopt = id, true
			a.uid = id
		}
	}
	if err := a.keeper.Save(uid, configured); err != nil {
		a.logger.Debug("Cannot remember the instance uid", zap.Error(err))
	}
	a.mu.Unlock()
	if !adopt {
		return
	}
	a.logger.Info("Using the service.instance.id the config now sets as the OpAMP instance uid", zap.String("instance_uid", uid.String()))
	if client := a.client.Load(); client != nil {
		client.SetInstanceUID([16]byte(uid))
		a.sendDescription(client, uid)
	}
}
