package remoteconfig

import (
	"sync"

	"github.com/opampext/opampextension/internal/instanceuid"
	"github.com/opampext/opampextension/internal/persist"
)

// The specification asks an agent to carry its identifying attributes in
// the resource of its own telemetry. service.name and service.version are
// the same in the Collector's resource as in the agent description;
// service.instance.id is drawn by core on every start and reload unless
// the config sets it, so the own-telemetry layer sets it to the agent's
// instance uid when the config does not.
//
// The extension must not take that value for one the user configured (a
// configured service.instance.id is part of the agent's identity: turning
// own telemetry off would then change the uid). The converter therefore
// notes, per state directory, the value it set: InjectedInstanceID.

// resourceIDKey is where the layer sets the instance id.
const resourceIDKey = "service.instance.id"

var (
	injectedMu  sync.Mutex
	injectedIDs = map[string]string{}
)

// InjectedInstanceID is the service.instance.id the last resolve of the
// config with this state directory set for the own-telemetry layer, ""
// when it set none (the config set its own, or no destination is on).
func InjectedInstanceID(dir string) string {
	injectedMu.Lock()
	defer injectedMu.Unlock()
	return injectedIDs[dir]
}

func noteInjectedID(dir, id string) {
	injectedMu.Lock()
	defer injectedMu.Unlock()
	injectedIDs[dir] = id
}

func forgetInjectedID(dir string) {
	injectedMu.Lock()
	defer injectedMu.Unlock()
	delete(injectedIDs, dir)
}

// agentUID is the instance uid the extension of t reports as: its
// instance_uid when set (in UUID form), else the one its last instance
// used, kept in the state directory; "" when neither is known (a first
// start, before the extension resolved one: the layer then waits for the
// reload an offer brings).
func agentUID(t target) string {
	if t.configuredUID != "" {
		id, err := instanceuid.Parse(t.configuredUID)
		if err != nil {
			return "" // the extension's Validate reports it
		}
		return id.String()
	}
	st, err := persist.NewStateDir(t.dir)
	if err != nil {
		return ""
	}
	id, ok := instanceuid.Stored(st, t.rules.Own)
	if !ok {
		return ""
	}
	return id.String()
}
