package custommsg

import (
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func msg(capability, typ string) *protobufs.CustomMessage {
	return &protobufs.CustomMessage{Capability: capability, Type: typ, Data: []byte(typ)}
}

func TestDispatchFanOut(t *testing.T) {
	r := NewRegistry(zap.NewNop())
	h1, err := r.Register("io.example.a")
	require.NoError(t, err)
	h2, err := r.Register("io.example.a")
	require.NoError(t, err)
	other, err := r.Register("io.example.b")
	require.NoError(t, err)

	in := msg("io.example.a", "hello")
	r.Dispatch(in)

	got1 := <-h1.Message()
	got2 := <-h2.Message()
	for _, got := range []*protobufs.CustomMessage{got1, got2} {
		assert.Equal(t, "io.example.a", got.GetCapability())
		assert.Equal(t, "hello", got.GetType())
		assert.Equal(t, []byte("hello"), got.GetData())
	}
	got2.Data[0] = 'X'
	assert.Equal(t, []byte("hello"), got1.GetData(), "handlers must not share message data")
	assert.Empty(t, other.Message(), "other capabilities get nothing")
}

func TestDispatchFullQueueDropsWithoutBlocking(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	r := NewRegistry(zap.New(core))
	small, err := r.Register("io.example.a", opampcustommessages.WithMaxQueuedMessages(2))
	require.NoError(t, err)
	big, err := r.Register("io.example.a", opampcustommessages.WithMaxQueuedMessages(5))
	require.NoError(t, err)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			r.Dispatch(msg("io.example.a", "m"))
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Dispatch blocked on a full queue")
	}

	assert.Equal(t, uint64(3), small.(*Handler).Dropped())
	assert.Zero(t, big.(*Handler).Dropped())
	assert.Equal(t, uint64(3), r.Dropped())
	assert.Len(t, small.Message(), 2)
	assert.Len(t, big.Message(), 5)
	assert.Equal(t, 3, logs.FilterMessage("Dropping custom message: handler queue is full").Len())
}

func TestDispatchIgnoresUnknownAndNil(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	r := NewRegistry(zap.New(core))
	h, err := r.Register("io.example.a")
	require.NoError(t, err)

	r.Dispatch(nil)
	r.Dispatch(msg("io.example.unknown", "m"))

	assert.Empty(t, h.Message())
	assert.Zero(t, r.Dropped())
	entries := logs.All()
	require.Len(t, entries, 1)
	assert.Equal(t, "Ignoring custom message for unregistered capability", entries[0].Message)
	assert.Equal(t, "io.example.unknown", entries[0].ContextMap()["capability"])
}

// Unregister closing the channel while Dispatch sends must never panic
// (send on closed channel) nor close twice; -race checks the rest.
func TestUnregisterRacesDispatch(t *testing.T) {
	r := NewRegistry(zap.NewNop())
	r.Attach(&fakeClient{})
	for range 1000 {
		h, err := r.Register("io.example.a", opampcustommessages.WithMaxQueuedMessages(1))
		require.NoError(t, err)

		var wg sync.WaitGroup
		wg.Go(func() {
			for range 5 {
				r.Dispatch(msg("io.example.a", "m"))
			}
		})
		wg.Go(h.Unregister)
		wg.Go(h.Unregister)
		wg.Go(func() {
			for range h.Message() {
			}
		})
		wg.Wait()
	}
	assert.Empty(t, r.Capabilities())
}

// TestMessageSizeLimit: oversized messages are refused both ways, with one
// warning for the server's and a sentinel error for a component's.
func TestMessageSizeLimit(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	r := NewRegistry(zap.New(core), WithMaxMessageSize(8))
	r.Attach(&fakeClient{})
	h, err := r.Register("io.test")
	require.NoError(t, err)

	_, err = h.SendMessage("big", make([]byte, 9))
	require.ErrorIs(t, err, ErrMessageTooLarge)
	_, err = h.SendMessage("small", make([]byte, 8))
	require.NoError(t, err)

	for range 3 {
		r.Dispatch(&protobufs.CustomMessage{Capability: "io.test", Type: "big", Data: make([]byte, 9)})
	}
	r.Dispatch(&protobufs.CustomMessage{Capability: "io.test", Type: "small", Data: make([]byte, 8)})
	select {
	case m := <-h.Message():
		assert.Equal(t, "small", m.GetType())
	default:
		t.Fatal("the message within the limit was not delivered")
	}
	assert.Equal(t, uint64(3), r.Dropped())
	assert.Equal(t, 1, logs.FilterLevelExact(zapcore.WarnLevel).Len())
}
