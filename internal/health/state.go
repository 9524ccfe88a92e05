package health

import (
	"bytes"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"
)

// extensionsKey is the node holding every extension.
const extensionsKey = "extensions"

// phase is the Collector-wide readiness reported through PipelineWatcher.
type phase uint8

const (
	phaseStarting phase = iota // before Ready
	phaseReady                 // after Ready, before NotReady
	phaseStopping              // after NotReady
)

// leaf is the last known state of one component instance. The node list is
// computed once, when the instance is first seen, so repeats cost nothing.
type leaf struct {
	key     string   // "<kind>:<component id>"
	nodes   []string // parent node keys, sorted
	status  componentstatus.Status
	errText string
	attrs   []byte    // the event's attributes, encoded (attributes.go)
	start   time.Time // first seen
	changed time.Time // last change of (status, errText, attrs)
}

// newLeaf places an instance in the tree. It returns false for an instance
// that has no place: a pipeline component reported without any pipeline.
func newLeaf(id *componentstatus.InstanceID) (leaf, bool) {
	kind := id.Kind()
	l := leaf{key: strings.ToLower(kind.String()) + ":" + id.ComponentID().String()}
	if kind == component.KindExtension {
		l.nodes = []string{extensionsKey}
		return l, true
	}
	// AllPipelineIDs yields the pipelines sorted and de-duplicated.
	id.AllPipelineIDs(func(p pipeline.ID) bool {
		l.nodes = append(l.nodes, "pipeline:"+p.String())
		return true
	})
	return l, len(l.nodes) > 0
}

// snapshot is a consistent copy of the table, taken under the lock so that
// the tree can be built outside it.
type snapshot struct {
	phase        phase
	phaseChanged time.Time // last phase change that altered the root's own state
	leaves       []leaf
}

// record applies an event to the table. It reports whether anything changed.
// The caller holds r.mu.
func (r *Reporter) record(id *componentstatus.InstanceID, st componentstatus.Status, errText string, attrs []byte, ts time.Time) bool {
	key := *id
	if st == componentstatus.StatusStopped && r.phase == phaseReady {
		// Stopped while the Collector runs: a partial reload
		// (service.partialReload) removed the component, or is rebuilding
		// it and the new instance reports Starting next. Either way this
		// instance is gone; keeping it would leave the root unhealthy for
		// good. On shutdown (phaseStopping) the final states stay.
		if _, ok := r.leaves[key]; ok {
			delete(r.leaves, key)
			return true
		}
		return false
	}
	if l, ok := r.leaves[key]; ok {
		if l.status == st && l.errText == errText && bytes.Equal(l.attrs, attrs) {
			return false
		}
		l.status, l.errText, l.attrs, l.changed = st, errText, attrs, ts
		return true
	}
	l, ok := newLeaf(id)
	if !ok {
		r.logger.Debug("Ignoring status of a component outside any pipeline",
			zap.String("component", id.ComponentID().String()),
			zap.String("kind", id.Kind().String()))
		return false
	}
	l.status, l.errText, l.attrs, l.start, l.changed = st, errText, attrs, ts, ts
	r.leaves[key] = &l
	return true
}

// setPhase moves the readiness phase. It reports whether the phase changed,
// and stamps phaseChanged only when the root's own (healthy, status) moved.
// The caller holds r.mu.
func (r *Reporter) setPhase(p phase) bool {
	if r.phase == p {
		return false
	}
	before := r.rootOwnLocked()
	r.phase = p
	if r.rootOwnLocked() != before {
		r.phaseChanged = r.now()
	}
	return true
}

// rootOwn is the part of the root a phase change can alter.
type rootOwn struct {
	healthy bool
	status  string
}

func (r *Reporter) rootOwnLocked() rootOwn {
	worst := componentstatus.StatusOK
	for _, l := range r.leaves {
		if severity(l.status) > severity(worst) {
			worst = l.status
		}
	}
	return rootState(r.phase, worst)
}

// rootState derives the root's healthy flag and status from the phase and
// the worst status below it.
func rootState(p phase, worst componentstatus.Status) rootOwn {
	switch p {
	case phaseStarting:
		return rootOwn{status: componentstatus.StatusStarting.String()}
	case phaseStopping:
		return rootOwn{status: componentstatus.StatusStopping.String()}
	default:
		return rootOwn{healthy: worst == componentstatus.StatusOK, status: worst.String()}
	}
}

// snapshotLocked copies the table. The caller holds r.mu.
func (r *Reporter) snapshotLocked() snapshot {
	s := snapshot{phase: r.phase, phaseChanged: r.phaseChanged, leaves: make([]leaf, 0, len(r.leaves))}
	for _, l := range r.leaves {
		s.leaves = append(s.leaves, *l) // nodes is never mutated after creation
	}
	return s
}
