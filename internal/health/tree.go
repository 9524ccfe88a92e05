package health

import (
	"sort"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// severity ranks statuses; higher is worse. The order is documented in the
// package doc.
func severity(s componentstatus.Status) int {
	switch s {
	case componentstatus.StatusOK:
		return 0
	case componentstatus.StatusStarting:
		return 2
	case componentstatus.StatusStopped:
		return 3
	case componentstatus.StatusStopping:
		return 4
	case componentstatus.StatusRecoverableError:
		return 5
	case componentstatus.StatusPermanentError:
		return 6
	case componentstatus.StatusFatalError:
		return 7
	default: // StatusNone and anything unknown
		return 1
	}
}

// summary is what a parent needs from each child.
type summary struct {
	key     string
	status  componentstatus.Status
	healthy bool
	errText string
	attrs   []byte // a leaf's only
	start   time.Time
	changed time.Time
}

// worse reports whether a should represent its parent rather than b.
func worse(a, b summary) bool {
	if sa, sb := severity(a.status), severity(b.status); sa != sb {
		return sa > sb
	}
	if (a.errText != "") != (b.errText != "") {
		return a.errText != ""
	}
	return a.key < b.key
}

// aggregate folds children into their parent's summary. children is not
// empty.
func aggregate(key string, children []summary) summary {
	out := summary{key: key, healthy: true}
	worst := children[0]
	for i, c := range children {
		out.healthy = out.healthy && c.healthy
		if i > 0 && worse(c, worst) {
			worst = c
		}
		if out.start.IsZero() || (!c.start.IsZero() && c.start.Before(out.start)) {
			out.start = c.start
		}
		if c.changed.After(out.changed) {
			out.changed = c.changed
		}
	}
	out.status, out.errText = worst.status, worst.errText
	return out
}

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func toProto(s summary) *protobufs.ComponentHealth {
	ch := &protobufs.ComponentHealth{
		Healthy:            s.healthy,
		Status:             s.status.String(),
		LastError:          s.errText,
		StartTimeUnixNano:  unixNano(s.start),
		StatusTimeUnixNano: unixNano(s.changed),
	}
	if len(s.attrs) > 0 {
		ch.ProtoReflect().SetUnknown(s.attrs)
	}
	return ch
}

// buildTree renders a snapshot as the OpAMP health tree.
func buildTree(startTime time.Time, s snapshot) *protobufs.ComponentHealth {
	children := make(map[string][]summary)
	nodes := make(map[string]*protobufs.ComponentHealth)
	for _, l := range s.leaves {
		ls := summary{
			key: l.key, status: l.status, healthy: l.status == componentstatus.StatusOK,
			errText: l.errText, attrs: l.attrs, start: l.start, changed: l.changed,
		}
		for _, nk := range l.nodes {
			children[nk] = append(children[nk], ls)
			n := nodes[nk]
			if n == nil {
				n = &protobufs.ComponentHealth{ComponentHealthMap: make(map[string]*protobufs.ComponentHealth)}
				nodes[nk] = n
			}
			n.ComponentHealthMap[l.key] = toProto(ls)
		}
	}

	// Sorted so that ties and the root's inputs never depend on map order.
	keys := make([]string, 0, len(nodes))
	for k := range nodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	root := &protobufs.ComponentHealth{
		StartTimeUnixNano:  unixNano(startTime),
		ComponentHealthMap: make(map[string]*protobufs.ComponentHealth, len(nodes)),
	}
	worst := summary{status: componentstatus.StatusOK, healthy: true}
	if len(keys) > 0 {
		sums := make([]summary, 0, len(keys))
		for _, k := range keys {
			ns := aggregate(k, children[k])
			sums = append(sums, ns)
			n := nodes[k]
			p := toProto(ns)
			n.Healthy, n.Status, n.LastError = p.Healthy, p.Status, p.LastError
			n.StartTimeUnixNano, n.StatusTimeUnixNano = p.StartTimeUnixNano, p.StatusTimeUnixNano
			root.ComponentHealthMap[k] = n
		}
		worst = aggregate("", sums)
	}

	own := rootState(s.phase, worst.status)
	root.Healthy = own.healthy && worst.healthy
	root.Status = own.status
	root.LastError = worst.errText
	if !root.Healthy && root.LastError == "" {
		// The specification: last_error SHOULD be set when unhealthy.
		root.LastError = unhealthyReason(s.phase, worst.status)
	}
	if s.phase == phaseStopping {
		// The specification: start_time MUST be 0 when the agent is not
		// running; once stopping, it is not.
		root.StartTimeUnixNano = 0
	}
	changed := worst.changed
	if s.phaseChanged.After(changed) {
		changed = s.phaseChanged
	}
	root.StatusTimeUnixNano = unixNano(changed)
	return root
}

// unhealthyReason is the root's last_error when no component gave one.
func unhealthyReason(p phase, worst componentstatus.Status) string {
	switch p {
	case phaseStarting:
		return "the Collector is starting"
	case phaseStopping:
		return "the Collector is shutting down"
	default:
		return "a component is " + worst.String()
	}
}
