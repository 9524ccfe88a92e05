package remoteconfig

import (
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// A reload can stall before any instance of the new service's opamp
// extension starts: core starts extensions in dependency order and
// otherwise in no fixed order, so an extension whose Start blocks may
// come first, and no new Manager arms a health watch to roll back. The
// instance that started the apply therefore leaves a process-wide
// watchdog behind when the reload stops it: unless a Manager of the same
// state directory starts within ApplyTimeout (that one decides the apply
// from then on), the watchdog fails the candidate and executes the
// process again, as restartStuck does for a Manager that did start. It
// exists only with Settings.Restart; it lives in the process, not in an
// instance, since the reload replaces every instance.
var watchdogs = struct {
	mu    sync.Mutex
	byDir map[string]*time.Timer
}{byDir: map[string]*time.Timer{}}

// leaveWatchdog arms the watchdog when this instance is stopping for the
// reload of an apply it started: it handed off, and its candidate is on
// disk, undecided.
func (m *Manager) leaveWatchdog() {
	m.mu.Lock()
	handedOff := m.handedOff
	m.mu.Unlock()
	if m.set.Restart == nil || !handedOff || !m.ownsCandidate() {
		return
	}
	watchdogs.mu.Lock()
	defer watchdogs.mu.Unlock()
	if t := watchdogs.byDir[m.set.Dir]; t != nil {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(m.set.ApplyTimeout, func() {
		watchdogs.mu.Lock()
		current := watchdogs.byDir[m.set.Dir] == t
		if current {
			delete(watchdogs.byDir, m.set.Dir)
		}
		watchdogs.mu.Unlock()
		if current {
			m.watchdogFired()
		}
	})
	watchdogs.byDir[m.set.Dir] = t
}

// disarmWatchdog: a Manager of dir started; the apply is its to decide.
func disarmWatchdog(dir string) {
	watchdogs.mu.Lock()
	defer watchdogs.mu.Unlock()
	if t := watchdogs.byDir[dir]; t != nil {
		t.Stop()
		delete(watchdogs.byDir, dir)
	}
}

// ownsCandidate: the state holds a candidate this process wrote.
func (m *Manager) ownsCandidate() bool {
	st, err := m.store.load()
	if err != nil {
		m.set.Logger.Warn("Cannot read the remote configuration state", zap.Error(err))
		return false
	}
	return st.Candidate != nil && st.Owner == processToken
}

// watchdogFired rolls back an apply whose new service never started its
// opamp extension: FAILED on disk, then the exec, or, when the process
// may not or cannot execute itself, the reload, which core handles if
// the stuck start ever ends. Nothing is reported here: the client of
// this instance is stopped, and the next instance reports the state.
func (m *Manager) watchdogFired() {
	if !m.ownsCandidate() {
		return
	}
	why := fmt.Sprintf("the Collector was not healthy within %s: its extensions did not finish starting", m.set.ApplyTimeout)
	hash, kind := m.fail(why)
	m.set.Logger.Warn("Rolling back the remote configuration", zap.String("reason", why))
	if m.restartStuck(hash, kind) {
		return
	}
	if err := m.set.Reload(); err != nil {
		m.set.Logger.Error("Cannot reload the Collector", zap.Error(err))
	}
}
