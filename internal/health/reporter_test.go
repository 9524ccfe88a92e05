package health

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"
)

func TestRepeatedEventsDoNotWake(t *testing.T) {
	r := New(Settings{})
	id := inst(component.KindProcessor, "memory_limiter", "traces")
	r.Changed(id, ev(componentstatus.StatusOK))
	require.Len(t, r.wake, 1)
	<-r.wake
	for range 1000 {
		r.Changed(id, ev(componentstatus.StatusOK))
	}
	assert.Empty(t, r.wake)
}

func TestRepeatedEventsSendNothing(t *testing.T) {
	c := newCapture()
	r := New(Settings{Sink: c.sink})
	r.Start()
	id := inst(component.KindProcessor, "memory_limiter", "traces")
	first := ev(componentstatus.StatusOK)
	r.Changed(id, first)
	c.next(t)

	for range 1000 {
		r.Changed(id, ev(componentstatus.StatusOK))
	}
	// A real change afterwards is the only further send, and the repeats
	// did not move the memory_limiter's status time.
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusOK))
	got := c.next(t)
	shutdown(t, r)
	assert.Empty(t, c.remaining())
	leaf := got.ComponentHealthMap["pipeline:traces"].ComponentHealthMap["processor:memory_limiter"]
	require.NotNil(t, leaf)
	assert.Equal(t, ns(first.Timestamp()), leaf.StatusTimeUnixNano)
}

// gate is a Sink that blocks every call until released.
type gate struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	got     []*protobufs.ComponentHealth
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 1024), release: make(chan struct{})}
}

func (g *gate) sink(h *protobufs.ComponentHealth) error {
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.got = append(g.got, h)
	g.mu.Unlock()
	return nil
}

func (g *gate) sent() []*protobufs.ComponentHealth {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*protobufs.ComponentHealth(nil), g.got...)
}

func waitEntered(t *testing.T, g *gate) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(waitFor):
		t.Fatal("sink was not called")
	}
}

func TestBurstsCoalesce(t *testing.T) {
	g := newGate()
	r := New(Settings{Sink: g.sink})
	r.Start()
	id := inst(component.KindExporter, "otlp", "metrics")
	r.Changed(id, ev(componentstatus.StatusStarting))
	waitEntered(t, g) // the sender is now stuck in the first send

	for i := range 100 {
		r.Changed(id, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("attempt %d", i)))
	}
	close(g.release)
	waitEntered(t, g)
	shutdown(t, r)

	sent := g.sent()
	require.Len(t, sent, 2, "100 changes during one send coalesce into one")
	assert.Equal(t, "attempt 99", sent[1].LastError)
	assert.True(t, proto.Equal(r.Current(), sent[1]))
}

func TestBlockedSinkDoesNotBlockEvents(t *testing.T) {
	g := newGate()
	r := New(Settings{Sink: g.sink})
	r.Start()
	r.Changed(inst(component.KindReceiver, "otlp", "logs"), ev(componentstatus.StatusStarting))
	waitEntered(t, g)

	const workers, perWorker = 100, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			id := inst(component.KindExporter, fmt.Sprintf("otlp/%d", w), "logs")
			for i := range perWorker {
				st := componentstatus.StatusOK
				if i%2 == 1 {
					st = componentstatus.StatusRecoverableError
				}
				r.Changed(id, ev(st))
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(waitFor):
		t.Fatal("events blocked behind a stuck sink")
	}
	assert.Len(t, r.Current().ComponentHealthMap["pipeline:logs"].ComponentHealthMap, workers+1)
	close(g.release)
	shutdown(t, r)
}

func TestTransitions(t *testing.T) {
	c := newCapture()
	r := New(Settings{Sink: c.sink})
	r.Start()
	defer shutdown(t, r)
	id := inst(component.KindReceiver, "otlp", "traces")
	report := func(e *componentstatus.Event) func() { return func() { r.Changed(id, e) } }

	steps := []struct {
		name        string
		do          func()
		rootHealthy bool
		rootStatus  string
		leafStatus  string
		lastError   string
		// rootError: the root's last_error, set whenever it is unhealthy
		// (the specification's SHOULD).
		rootError string
	}{
		{"starting", report(ev(componentstatus.StatusStarting)), false, "StatusStarting", "StatusStarting", "", "the Collector is starting"},
		{"ok before ready", report(ev(componentstatus.StatusOK)), false, "StatusStarting", "StatusOK", "", "the Collector is starting"},
		{"ready", func() { require.NoError(t, r.Ready()) }, true, "StatusOK", "StatusOK", "", ""},
		{"recoverable", report(componentstatus.NewRecoverableErrorEvent(errors.New("queue full"))), false, "StatusRecoverableError", "StatusRecoverableError", "queue full", "queue full"},
		{"recovered", report(ev(componentstatus.StatusOK)), true, "StatusOK", "StatusOK", "", ""},
		{"not ready", func() { require.NoError(t, r.NotReady()) }, false, "StatusStopping", "StatusOK", "", "the Collector is shutting down"},
		{"stopping", report(ev(componentstatus.StatusStopping)), false, "StatusStopping", "StatusStopping", "", "the Collector is shutting down"},
	}
	for _, s := range steps {
		s.do()
		got := c.next(t)
		assert.Equal(t, s.rootHealthy, got.Healthy, s.name)
		assert.Equal(t, s.rootStatus, got.Status, s.name)
		assert.Equal(t, s.rootError, got.LastError, s.name)
		// The specification: start_time is 0 once the agent is not running.
		assert.Equal(t, s.rootStatus == "StatusStopping", got.StartTimeUnixNano == 0, s.name)
		node := got.ComponentHealthMap["pipeline:traces"]
		require.NotNil(t, node, s.name)
		assert.Equal(t, s.lastError, node.LastError, s.name)
		leaf := node.ComponentHealthMap["receiver:otlp"]
		require.NotNil(t, leaf, s.name)
		assert.Equal(t, s.leafStatus, leaf.Status, s.name)
		assert.Equal(t, s.leafStatus == "StatusOK", leaf.Healthy, s.name)
		assert.Equal(t, s.lastError, leaf.LastError, s.name)
	}
}

func TestSinkErrorRetriedOnNextChange(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	var mu sync.Mutex
	fail := true
	c := newCapture()
	r := New(Settings{Logger: zap.New(core), Sink: func(h *protobufs.ComponentHealth) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			return errors.New("not connected")
		}
		return c.sink(h)
	}})
	r.Start()
	id := inst(component.KindReceiver, "otlp", "traces")
	r.Changed(id, ev(componentstatus.StatusStarting))
	require.Eventually(t, func() bool { return logs.Len() == 1 }, waitFor, time.Millisecond)
	assert.Equal(t, "not connected", logs.All()[0].ContextMap()["error"])

	require.NoError(t, r.Ready())
	got := c.next(t)
	shutdown(t, r)
	assert.Equal(t, "StatusStarting", got.ComponentHealthMap["pipeline:traces"].Status, "the failed change is carried by the next send")
	assert.Equal(t, "StatusStarting", got.Status)
}

func TestCurrentMatchesLastSent(t *testing.T) {
	c := newCapture()
	r := New(Settings{Sink: c.sink})
	r.Start()
	r.Changed(inst(component.KindExtension, "opamp"), ev(componentstatus.StatusOK))
	r.Changed(inst(component.KindReceiver, "otlp", "traces", "logs"),
		componentstatus.NewPermanentErrorEvent(errors.New("bind: address in use")))
	require.NoError(t, r.Ready())
	shutdown(t, r) // after this nothing more is sent
	sent := c.remaining()
	require.NotEmpty(t, sent)
	last := sent[len(sent)-1]
	assert.True(t, proto.Equal(r.Current(), last), "current %v\nlast %v", r.Current(), last)
	assert.Equal(t, "bind: address in use", last.LastError)
	// Current is a fresh copy: changing it does not affect the next one.
	r.Current().ComponentHealthMap["extensions"].Healthy = false
	assert.True(t, r.Current().ComponentHealthMap["extensions"].Healthy)
}

func TestEventsBeforeStartAreSent(t *testing.T) {
	c := newCapture()
	r := New(Settings{Sink: c.sink})
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusStarting))
	r.Start()
	r.Start() // no second sender
	got := c.next(t)
	shutdown(t, r)
	assert.Contains(t, got.ComponentHealthMap, "pipeline:traces")
	assert.Empty(t, c.remaining())
}

func TestShutdownWithStuckSink(t *testing.T) {
	g := newGate()
	r := New(Settings{Sink: g.sink})
	r.Start()
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusOK))
	waitEntered(t, g)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	err := r.Shutdown(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(begin), waitFor)

	// Events after Shutdown are ignored.
	before := r.Current()
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusStopping))
	require.NoError(t, r.NotReady())
	assert.True(t, proto.Equal(before, r.Current()))

	close(g.release) // let the sender leave the sink; goleak checks it ends
	require.NoError(t, r.Shutdown(t.Context()))
	require.NoError(t, r.Shutdown(t.Context()), "idempotent")
	r.Start() // no restart after Shutdown
	require.NoError(t, r.Shutdown(t.Context()))
}

func TestShutdownWithoutStart(t *testing.T) {
	r := New(Settings{})
	require.NoError(t, r.Shutdown(t.Context()))
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusOK))
	assert.Empty(t, r.Current().ComponentHealthMap)
}

func TestNilInputsIgnored(t *testing.T) {
	r := New(Settings{})
	r.Changed(nil, ev(componentstatus.StatusOK))
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), nil)
	assert.Empty(t, r.Current().ComponentHealthMap)
	assert.Empty(t, r.wake)
}

func TestZeroTimestampUsesClock(t *testing.T) {
	r := New(Settings{})
	clock := time.Unix(42, 0)
	r.now = func() time.Time { return clock }
	r.Changed(inst(component.KindExtension, "opamp"), &componentstatus.Event{})
	leaf := r.Current().ComponentHealthMap["extensions"].ComponentHealthMap["extension:opamp"]
	require.NotNil(t, leaf)
	assert.Equal(t, ns(clock), leaf.StatusTimeUnixNano)
	assert.Equal(t, "StatusNone", leaf.Status)
	assert.False(t, leaf.Healthy)
}

// TestUnchangedTreeIsNotSentAgain: a wake-up with nothing changed sends
// nothing; the client resends the full state itself on a new connection.
func TestUnchangedTreeIsNotSentAgain(t *testing.T) {
	var mu sync.Mutex
	var sent []*protobufs.ComponentHealth
	r := New(Settings{Sink: func(h *protobufs.ComponentHealth) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, h)
		return nil
	}})
	r.Start()
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(sent)
	}
	require.NoError(t, r.Ready())
	require.Eventually(t, func() bool { return count() == 1 }, time.Second, time.Millisecond)

	r.signal()
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, 1, count())
}
