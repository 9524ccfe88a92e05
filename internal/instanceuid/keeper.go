package instanceuid

import (
	"strings"

	"github.com/google/uuid"

	"github.com/opampext/opampextension/internal/persist"
)

// Keeper remembers the uid an extension instance used, so that the next
// instance of the same component (the Collector rebuilds extensions on every
// reload) keeps its identity: core draws a new resource service.instance.id
// on each reload, and a server-assigned uid must not be forgotten either.
//
// A remembered uid applies only while the identity the user configured is
// unchanged: the configured instance_uid, and the resource's
// service.instance.id when the config set it (service.telemetry.resource)
// rather than core drawing it. A reload that changes either resolves the uid
// anew, as a restart would, so OpAMP and the Collector's own telemetry keep
// agreeing.
type Keeper struct {
	store      persist.Store
	key        string
	configured string
	resourceID string
}

// NewKeeper returns a Keeper for one component's uid, given the configured
// instance_uid and this instance's resource service.instance.id.
func NewKeeper(store persist.Store, componentID, configured, resourceID string) Keeper {
	return Keeper{store: store, key: storeKey(componentID), configured: configured, resourceID: resourceID}
}

// storeKey is the key of a component's uid, a plain file name so that a
// persist.Dir can hold it: "instance_uid.opamp", "instance_uid.opamp_edge".
func storeKey(componentID string) string { return persist.KeyFor("instance_uid", componentID) }

// Load returns the remembered uid, if the configured identity is unchanged,
// and whether the previous instance's service.instance.id was configured.
func (k Keeper) Load() (uid uuid.UUID, prevConfigured bool, ok bool) {
	rec, ok := load(k.store, k.key)
	if !ok || rec.configured != k.configured {
		return uuid.Nil, false, false
	}
	// A configured service.instance.id that changed (or went away)
	// changes the identity; one core drew says nothing.
	if rec.configuredID != "" && rec.configuredID != k.resourceID {
		return uuid.Nil, false, false
	}
	return rec.uid, rec.configuredID != "", true
}

// record is what Save stores: the configured instance_uid, the configured
// service.instance.id ("" when core drew it) and the uid, a line each.
type record struct {
	configured, configuredID string
	uid                      uuid.UUID
}

func load(store persist.Store, key string) (record, bool) {
	v, found, err := store.Get(key)
	if err != nil || !found {
		return record{}, false
	}
	parts := strings.Split(string(v), "\n")
	if len(parts) != 3 {
		return record{}, false
	}
	uid, err := uuid.Parse(parts[2])
	if err != nil || uid == uuid.Nil {
		return record{}, false
	}
	return record{configured: parts[0], configuredID: parts[1], uid: uid}, true
}

// Save remembers uid under the current configured identity;
// resourceConfigured says whether the config set this instance's
// service.instance.id.
func (k Keeper) Save(uid uuid.UUID, resourceConfigured bool) error {
	configuredID := ""
	if resourceConfigured {
		configuredID = k.resourceID
	}
	return k.store.Put(k.key, []byte(k.configured+"\n"+configuredID+"\n"+uid.String()))
}

// Stored is the uid the component's last instance used, as its keeper
// saved it, under whatever identity: what the agent reports itself as
// until a new instance resolves anew.
func Stored(store persist.Store, componentID string) (uuid.UUID, bool) {
	rec, ok := load(store, storeKey(componentID))
	return rec.uid, ok
}
