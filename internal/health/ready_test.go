package health

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// Ready hands the healthy tree to the Sink before it returns, not through
// the sender goroutine, which would run only after the caller's next steps
// (at start-up, core's logging "Everything is ready"): what a server waits
// for comes first. One P makes "after the caller's next steps" certain
// without the fix.
func TestReadySendsBeforeReturning(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := newCapture()
	r := New(Settings{Sink: c.sink})
	r.Start()
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusOK))
	require.False(t, c.next(t).Healthy, "before Ready")

	require.NoError(t, r.Ready())
	select {
	case h := <-c.ch:
		assert.True(t, h.Healthy)
		assert.Equal(t, "StatusOK", h.Status)
	default:
		t.Fatal("Ready returned before the Sink had the healthy tree")
	}
	shutdown(t, r)
	assert.Empty(t, c.remaining(), "the sender does not send the same tree again")
}

// With the sender stuck inside the Sink, Ready returns at once and the
// healthy tree follows when the Sink returns.
func TestReadyDoesNotWaitForABusySink(t *testing.T) {
	g := newGate()
	r := New(Settings{Sink: g.sink})
	r.Start()
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusOK))
	waitEntered(t, g)

	returned := make(chan struct{})
	go func() {
		_ = r.Ready()
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(waitFor):
		t.Fatal("Ready blocked behind a stuck sink")
	}
	close(g.release)
	shutdown(t, r)
	got := g.sent()
	require.Len(t, got, 2)
	assert.False(t, got[0].Healthy)
	assert.True(t, got[1].Healthy)
}

// Ready before Start is sent when the sender starts, as any change is.
func TestReadyBeforeStartIsSentAtStart(t *testing.T) {
	c := newCapture()
	r := New(Settings{Sink: c.sink})
	r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusOK))
	require.NoError(t, r.Ready())
	assert.Empty(t, c.remaining(), "nothing is sent before Start")
	r.Start()
	assert.True(t, c.next(t).Healthy)
	shutdown(t, r)
}

// TestStartupChangesGather: before Ready, the changes of one hold go out
// as one tree; Ready's healthy tree goes at once, and the tree held
// before it is not sent after it (it would be stale).
func TestStartupChangesGather(t *testing.T) {
	const hold = time.Second // far longer than the calls below take
	t.Run("one tree per hold", func(t *testing.T) {
		c := newCapture()
		r := New(Settings{Sink: c.sink})
		r.hold = hold
		r.Start()
		a, b := inst(component.KindReceiver, "otlp", "traces"), inst(component.KindExporter, "debug", "traces")
		// Spaced so that a sender not holding would send between them.
		for _, e := range []struct {
			id *componentstatus.InstanceID
			st componentstatus.Status
		}{{a, componentstatus.StatusStarting}, {b, componentstatus.StatusStarting}, {a, componentstatus.StatusOK}, {b, componentstatus.StatusOK}} {
			r.Changed(e.id, ev(e.st))
			time.Sleep(20 * time.Millisecond)
		}
		got := c.next(t)
		shutdown(t, r)
		assert.Empty(t, c.remaining(), "one tree for the four changes")
		p := got.ComponentHealthMap["pipeline:traces"]
		require.NotNil(t, p)
		assert.True(t, p.Healthy, "the tree sent holds the last states")
		assert.Equal(t, "StatusStarting", got.Status)
	})
	t.Run("Ready does not wait, and nothing stale follows", func(t *testing.T) {
		c := newCapture()
		r := New(Settings{Sink: c.sink})
		r.hold = hold
		r.Start()
		r.Changed(inst(component.KindReceiver, "otlp", "traces"), ev(componentstatus.StatusOK))
		require.NoError(t, r.Ready())
		select {
		case got := <-c.ch:
			assert.True(t, got.Healthy, "the first tree sent is Ready's")
		case <-time.After(hold / 2):
			t.Fatal("Ready's tree waited for the hold")
		}
		time.Sleep(hold + hold/2) // the held wake-up has run by now
		shutdown(t, r)
		assert.Empty(t, c.remaining(), "the tree held before Ready went after it")
	})
}
