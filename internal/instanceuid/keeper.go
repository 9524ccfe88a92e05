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
// A remembered uid applies only while the configured instance_uid is the one
// it was remembered under.
type Keeper struct {
	store      persist.Store
	key        string
	configured string
}

// NewKeeper returns a Keeper for one component's uid.
func NewKeeper(store persist.Store, componentID, configured string) Keeper {
	return Keeper{store: store, key: "instance_uid/" + componentID, configured: configured}
}

// Load returns the remembered uid, if any, for the current configured value.
func (k Keeper) Load() (uuid.UUID, bool) {
	v, ok, err := k.store.Get(k.key)
	if err != nil || !ok {
		return uuid.Nil, false
	}
	configured, uidText, found := strings.Cut(string(v), "\n")
	if !found || configured != k.configured {
		return uuid.Nil, false
	}
	uid, err := uuid.Parse(uidText)
	if err != nil || uid == uuid.Nil {
		return uuid.Nil, false
	}
	return uid, true
}

// Save remembers uid under the current configured value.
func (k Keeper) Save(uid uuid.UUID) error {
	return k.store.Put(k.key, []byte(k.configured+"\n"+uid.String()))
}
