package remoteconfig

import (
	"sync"

	"github.com/open-telemetry/opamp-go/protobufs"
)

// handoffs carries, per state directory, what arrived while a reload was
// under way, to the instance the reload builds.
var (
	handoffsMu sync.Mutex
	handoffs   = map[string]*handoff{}
)

type handoff struct {
	rc  *protobufs.AgentRemoteConfig
	own *protobufs.ConnectionSettingsOffers
}

// handOff keeps what arrived for the next instance; nil keeps what is
// there.
func handOff(dir string, rc *protobufs.AgentRemoteConfig, own *protobufs.ConnectionSettingsOffers) {
	handoffsMu.Lock()
	defer handoffsMu.Unlock()
	h := handoffs[dir]
	if h == nil {
		h = &handoff{}
		handoffs[dir] = h
	}
	if rc != nil {
		h.rc = rc
	}
	if own != nil {
		h.own = own
	}
}

// enqueue keeps what arrived (rc, own or both) for the run loop, or, once
// this instance started a reload, for the instance the reload builds.
func (m *Manager) enqueue(rc *protobufs.AgentRemoteConfig, own *protobufs.ConnectionSettingsOffers) {
	m.mu.Lock()
	if m.handedOff {
		m.mu.Unlock()
		handOff(m.set.Dir, rc, own)
		return
	}
	if rc != nil {
		m.pending = rc
	}
	if own != nil {
		m.pendingOwn = own
	}
	m.mu.Unlock()
	m.poke()
}
