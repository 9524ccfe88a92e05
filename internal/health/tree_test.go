package health

import (
	"errors"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"google.golang.org/protobuf/proto"
)

func TestSeverityOrder(t *testing.T) {
	worstFirst := []componentstatus.Status{
		componentstatus.StatusFatalError,
		componentstatus.StatusPermanentError,
		componentstatus.StatusRecoverableError,
		componentstatus.StatusStopping,
		componentstatus.StatusStopped,
		componentstatus.StatusStarting,
		componentstatus.StatusNone,
		componentstatus.StatusOK,
	}
	for i := 1; i < len(worstFirst); i++ {
		assert.Greater(t, severity(worstFirst[i-1]), severity(worstFirst[i]),
			"%v must outrank %v", worstFirst[i-1], worstFirst[i])
	}
}

func TestAggregateWorstChild(t *testing.T) {
	t0 := time.Unix(100, 0)
	tests := []struct {
		name     string
		children []summary
		want     summary
	}{
		{
			name: "all ok",
			children: []summary{
				{key: "a", status: componentstatus.StatusOK, healthy: true, start: t0.Add(2), changed: t0.Add(5)},
				{key: "b", status: componentstatus.StatusOK, healthy: true, start: t0.Add(1), changed: t0.Add(3)},
			},
			want: summary{key: "n", status: componentstatus.StatusOK, healthy: true, start: t0.Add(1), changed: t0.Add(5)},
		},
		{
			name: "error beats lifecycle",
			children: []summary{
				{key: "a", status: componentstatus.StatusStopping, start: t0, changed: t0},
				{key: "b", status: componentstatus.StatusRecoverableError, errText: "boom", start: t0, changed: t0},
				{key: "c", status: componentstatus.StatusOK, healthy: true, start: t0, changed: t0.Add(9)},
			},
			want: summary{key: "n", status: componentstatus.StatusRecoverableError, errText: "boom", start: t0, changed: t0.Add(9)},
		},
		{
			name: "tie prefers error text then key",
			children: []summary{
				{key: "a", status: componentstatus.StatusPermanentError, start: t0, changed: t0},
				{key: "c", status: componentstatus.StatusPermanentError, errText: "late", start: t0, changed: t0},
				{key: "b", status: componentstatus.StatusPermanentError, errText: "first", start: t0, changed: t0},
			},
			want: summary{key: "n", status: componentstatus.StatusPermanentError, errText: "first", start: t0, changed: t0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, aggregate("n", tt.children))
			// Order of children must not matter.
			rev := make([]summary, 0, len(tt.children))
			for i := len(tt.children) - 1; i >= 0; i-- {
				rev = append(rev, tt.children[i])
			}
			assert.Equal(t, tt.want, aggregate("n", rev))
		})
	}
}

func TestTreeLayoutSharedReceiver(t *testing.T) {
	start := time.Unix(1000, 0)
	r := New(Settings{StartTime: start})
	ready := time.Now().Add(time.Hour) // after every event below
	r.now = func() time.Time { return ready }

	rcv := inst(component.KindReceiver, "otlp", "traces", "traces/2")
	exp1 := inst(component.KindExporter, "debug", "traces")
	exp2 := inst(component.KindExporter, "debug/2", "traces/2")
	conn := inst(component.KindConnector, "forward", "traces", "metrics")
	ext := inst(component.KindExtension, "opamp")

	rcvEv := ev(componentstatus.StatusOK)
	exp1Ev := ev(componentstatus.StatusOK)
	exp2Ev := componentstatus.NewPermanentErrorEvent(errors.New("connection refused"))
	connEv := ev(componentstatus.StatusOK)
	extEv := ev(componentstatus.StatusOK)
	r.Changed(rcv, rcvEv)
	r.Changed(exp1, exp1Ev)
	r.Changed(exp2, exp2Ev)
	r.Changed(conn, connEv)
	r.Changed(ext, extEv)
	require.NoError(t, r.Ready())

	ok := func(e *componentstatus.Event) *protobufs.ComponentHealth {
		return &protobufs.ComponentHealth{Healthy: true, Status: "StatusOK",
			StartTimeUnixNano: ns(e.Timestamp()), StatusTimeUnixNano: ns(e.Timestamp())}
	}
	minT := func(es ...*componentstatus.Event) uint64 {
		m := ns(es[0].Timestamp())
		for _, e := range es[1:] {
			m = min(m, ns(e.Timestamp()))
		}
		return m
	}
	maxT := func(es ...*componentstatus.Event) uint64 {
		m := ns(es[0].Timestamp())
		for _, e := range es[1:] {
			m = max(m, ns(e.Timestamp()))
		}
		return m
	}
	failed := &protobufs.ComponentHealth{Status: "StatusPermanentError", LastError: "connection refused",
		StartTimeUnixNano: ns(exp2Ev.Timestamp()), StatusTimeUnixNano: ns(exp2Ev.Timestamp())}

	want := &protobufs.ComponentHealth{
		Healthy:            false,
		Status:             "StatusPermanentError",
		LastError:          "connection refused",
		StartTimeUnixNano:  ns(start),
		StatusTimeUnixNano: ns(ready), // Ready moved the root from StatusStarting
		ComponentHealthMap: map[string]*protobufs.ComponentHealth{
			"pipeline:traces": {
				Healthy: true, Status: "StatusOK",
				StartTimeUnixNano:  minT(rcvEv, exp1Ev, connEv),
				StatusTimeUnixNano: maxT(rcvEv, exp1Ev, connEv),
				ComponentHealthMap: map[string]*protobufs.ComponentHealth{
					"receiver:otlp":     ok(rcvEv),
					"exporter:debug":    ok(exp1Ev),
					"connector:forward": ok(connEv),
				},
			},
			"pipeline:traces/2": {
				Status: "StatusPermanentError", LastError: "connection refused",
				StartTimeUnixNano:  minT(rcvEv, exp2Ev),
				StatusTimeUnixNano: maxT(rcvEv, exp2Ev),
				ComponentHealthMap: map[string]*protobufs.ComponentHealth{
					"receiver:otlp":    ok(rcvEv),
					"exporter:debug/2": failed,
				},
			},
			"pipeline:metrics": {
				Healthy: true, Status: "StatusOK",
				StartTimeUnixNano: ns(connEv.Timestamp()), StatusTimeUnixNano: ns(connEv.Timestamp()),
				ComponentHealthMap: map[string]*protobufs.ComponentHealth{"connector:forward": ok(connEv)},
			},
			"extensions": {
				Healthy: true, Status: "StatusOK",
				StartTimeUnixNano: ns(extEv.Timestamp()), StatusTimeUnixNano: ns(extEv.Timestamp()),
				ComponentHealthMap: map[string]*protobufs.ComponentHealth{"extension:opamp": ok(extEv)},
			},
		},
	}
	got := r.Current()
	assert.True(t, proto.Equal(want, got), "want %v\ngot  %v", want, got)
}

func TestComponentOutsidePipelineIgnored(t *testing.T) {
	r := New(Settings{})
	r.Changed(inst(component.KindProcessor, "batch"), ev(componentstatus.StatusOK))
	assert.Empty(t, r.Current().GetComponentHealthMap())
	assert.Empty(t, r.wake, "an ignored event must not wake the sender")
}

func TestRootStatusTime(t *testing.T) {
	clock := time.Now().Add(time.Hour) // after every event below
	r := New(Settings{StartTime: time.Unix(1, 0)})
	r.now = func() time.Time { return clock }
	id := inst(component.KindReceiver, "otlp", "logs")

	starting := ev(componentstatus.StatusStarting)
	r.Changed(id, starting)
	assert.Equal(t, ns(starting.Timestamp()), r.Current().StatusTimeUnixNano, "child change")

	// Ready while a component is still starting leaves the root's own
	// (healthy, status) as it was: no new root time.
	clock = clock.Add(time.Hour)
	require.NoError(t, r.Ready())
	root := r.Current()
	assert.Equal(t, "StatusStarting", root.Status)
	assert.False(t, root.Healthy)
	assert.Equal(t, ns(starting.Timestamp()), root.StatusTimeUnixNano)

	okEv := ev(componentstatus.StatusOK)
	r.Changed(id, okEv)
	root = r.Current()
	assert.True(t, root.Healthy)
	assert.Equal(t, ns(okEv.Timestamp()), root.StatusTimeUnixNano)

	// A repeated Ready changes nothing; NotReady stamps the root.
	clock = clock.Add(time.Hour)
	require.NoError(t, r.Ready())
	assert.Equal(t, ns(okEv.Timestamp()), r.Current().StatusTimeUnixNano)
	require.NoError(t, r.NotReady())
	root = r.Current()
	assert.Equal(t, "StatusStopping", root.Status)
	assert.False(t, root.Healthy)
	assert.Equal(t, ns(clock), root.StatusTimeUnixNano)
}

func TestEmptyTree(t *testing.T) {
	r := New(Settings{StartTime: time.Unix(7, 0)})
	root := r.Current()
	assert.Equal(t, "StatusStarting", root.Status)
	assert.False(t, root.Healthy)
	assert.Equal(t, ns(time.Unix(7, 0)), root.StartTimeUnixNano)
	require.NoError(t, r.Ready())
	root = r.Current()
	assert.Equal(t, "StatusOK", root.Status)
	assert.True(t, root.Healthy, "ready with no components is healthy")
}
