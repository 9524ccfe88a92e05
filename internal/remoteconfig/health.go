package remoteconfig

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component/componentstatus"
)

type verdict int

const (
	verdictNone     verdict = iota // no apply to watch
	verdictWaiting                 // not healthy yet, time left
	verdictHealthy                 // every pipeline ready, no component in error
	verdictTimedOut                // the timeout passed first
)

// healthWatch judges the health of the instance an apply reloaded into:
// healthy once the pipelines are ready and no component is in error.
type healthWatch struct {
	mu    sync.Mutex
	armed bool
	ready bool
	// readied: the pipelines became ready at least once while armed; a
	// Shutdown before that is the reloaded service failing to start.
	readied bool
	timeout bool
	since   time.Time
	timer   *time.Timer
	errs    map[string]error // by component instance, while in error
	// seen keeps every error of the watch: a component that failed to
	// start reports Stopping, which clears errs, before the extension
	// hears of the shutdown.
	seen map[string]error
}

func (h *healthWatch) init() { h.errs, h.seen = map[string]error{}, map[string]error{} }

// arm starts the watch; kick runs when the timeout passes.
func (h *healthWatch) arm(d time.Duration, kick func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed, h.since, h.readied = true, time.Now(), false
	h.timer = time.AfterFunc(d, func() {
		h.mu.Lock()
		h.timeout = true
		h.mu.Unlock()
		kick()
	})
}

// disarm ends the watch; undecided: it was still armed; neverReady: and
// the pipelines never became ready (the service did not start).
func (h *healthWatch) disarm() (undecided, neverReady bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	undecided = h.armed
	h.armed = false
	if h.timer != nil {
		h.timer.Stop()
	}
	return undecided, undecided && !h.readied
}

// verdict decides once: a decided watch is disarmed.
func (h *healthWatch) verdict() verdict {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.armed {
		return verdictNone
	}
	var v verdict
	switch {
	case h.ready && len(h.errs) == 0:
		v = verdictHealthy
	case h.timeout:
		v = verdictTimedOut
	default:
		return verdictWaiting
	}
	h.armed = false
	h.timer.Stop()
	return v
}

func (h *healthWatch) elapsed() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Since(h.since)
}

// status records a component's event; it reports whether it changed
// what the watch knows.
func (h *healthWatch) status(id *componentstatus.InstanceID, ev *componentstatus.Event) bool {
	key := fmt.Sprintf("%s %s", strings.ToLower(id.Kind().String()), id.ComponentID())
	h.mu.Lock()
	defer h.mu.Unlock()
	switch ev.Status() {
	case componentstatus.StatusRecoverableError, componentstatus.StatusPermanentError, componentstatus.StatusFatalError:
		h.errs[key] = ev.Err()
		if h.armed {
			h.seen[key] = ev.Err()
		}
	default:
		delete(h.errs, key)
	}
	return h.armed
}

func (h *healthWatch) setReady(ready bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ready = ready
	if ready && h.armed {
		h.readied = true
	}
	return h.armed
}

// why tells what kept the Collector from being healthy.
func (h *healthWatch) why() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	errs := h.errs
	if len(errs) == 0 {
		errs = h.seen
	}
	if len(errs) == 0 {
		return "its pipelines did not become ready"
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %v", k, errs[k]))
	}
	return strings.Join(parts, "; ")
}

// ComponentStatusChanged feeds the health watch; it never blocks.
func (m *Manager) ComponentStatusChanged(id *componentstatus.InstanceID, ev *componentstatus.Event) {
	if m.hw.status(id, ev) {
		m.poke()
	}
}

// Ready: the pipelines have started.
func (m *Manager) Ready() {
	if m.hw.setReady(true) {
		m.poke()
	}
}

// NotReady: the pipelines are stopping.
func (m *Manager) NotReady() { m.hw.setReady(false) }
