package custommsg

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestRegisterValidation(t *testing.T) {
	tests := []struct {
		name       string
		capability string
		opts       []opampcustommessages.CustomCapabilityRegisterOption
		wantErr    error
		wantQueue  int
	}{
		{name: "defaults", capability: "io.example.a", wantQueue: 10},
		{name: "custom queue", capability: "io.example.a", opts: []opampcustommessages.CustomCapabilityRegisterOption{opampcustommessages.WithMaxQueuedMessages(3)}, wantQueue: 3},
		{name: "nil option ignored", capability: "io.example.a", opts: []opampcustommessages.CustomCapabilityRegisterOption{nil}, wantQueue: 10},
		{name: "empty capability", capability: "", wantErr: ErrEmptyCapability},
		{name: "zero queue", capability: "io.example.a", opts: []opampcustommessages.CustomCapabilityRegisterOption{opampcustommessages.WithMaxQueuedMessages(0)}, wantErr: ErrInvalidQueueSize},
		{name: "negative queue", capability: "io.example.a", opts: []opampcustommessages.CustomCapabilityRegisterOption{opampcustommessages.WithMaxQueuedMessages(-1)}, wantErr: ErrInvalidQueueSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry(zap.NewNop())
			h, err := r.Register(tt.capability, tt.opts...)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, h)
				assert.Empty(t, r.Capabilities())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantQueue, cap(h.(*Handler).ch))
			assert.Equal(t, []string{tt.capability}, r.Capabilities())
		})
	}
}

func TestCapabilityListPushedOnChange(t *testing.T) {
	r := NewRegistry(zap.NewNop())
	fc := &fakeClient{}
	r.Attach(fc)
	assert.Empty(t, fc.pushed(), "nothing registered: nothing to push")

	reg := func(c string) opampcustommessages.CustomCapabilityHandler {
		h, err := r.Register(c)
		require.NoError(t, err)
		return h
	}
	b := reg("io.example.b")
	a1 := reg("io.example.a")
	a2 := reg("io.example.a") // same list: no push
	a1.Unregister()           // a2 still holds it: no push
	b.Unregister()
	a2.Unregister()
	a2.Unregister() // idempotent: no push

	assert.Equal(t, [][]string{
		{"io.example.b"},
		{"io.example.a", "io.example.b"},
		{"io.example.a"},
		{},
	}, fc.pushed())
	assert.Empty(t, r.Capabilities())
}

func TestRegisterBeforeAttach(t *testing.T) {
	r := NewRegistry(nil)
	h, err := r.Register("io.example.z")
	require.NoError(t, err)
	_, err = r.Register("io.example.a")
	require.NoError(t, err)

	_, err = h.SendMessage("t", nil)
	require.ErrorIs(t, err, ErrNotConnected)

	fc := &fakeClient{}
	r.Attach(fc)
	assert.Equal(t, [][]string{{"io.example.a", "io.example.z"}}, fc.pushed())

	_, err = h.SendMessage("t", []byte("x"))
	require.NoError(t, err)
}

func TestDetachAndReattach(t *testing.T) {
	r := NewRegistry(zap.NewNop())
	first := &fakeClient{}
	r.Attach(first)
	h, err := r.Register("io.example.a")
	require.NoError(t, err)

	r.Detach()
	_, err = h.SendMessage("t", nil)
	require.ErrorIs(t, err, ErrNotConnected)
	_, err = r.Register("io.example.b")
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"io.example.a"}}, first.pushed(), "a detached client gets no pushes")

	second := &fakeClient{}
	r.Attach(second)
	assert.Equal(t, [][]string{{"io.example.a", "io.example.b"}}, second.pushed())
	_, err = h.SendMessage("t", nil)
	require.NoError(t, err)
}

func TestPushFailureIsLoggedAndRetried(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	r := NewRegistry(zap.New(core))
	fc := &fakeClient{setErr: errors.New("boom")}
	r.Attach(fc)

	_, err := r.Register("io.example.a")
	require.NoError(t, err, "a failed push does not fail the registration")
	assert.Empty(t, fc.pushed())
	assert.Equal(t, 1, logs.FilterMessage("Failed to update custom capabilities").Len())

	_, err = r.Register("io.example.b")
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"io.example.a", "io.example.b"}}, fc.pushed())
}

// Concurrent changes must leave the client with the registry's final list:
// a push carrying an older snapshot may not land after a newer one.
func TestConcurrentChangesConverge(t *testing.T) {
	for range 20 {
		r := NewRegistry(zap.NewNop())
		fc := &fakeClient{}
		r.Attach(fc)
		keep, err := r.Register("io.example.keep")
		require.NoError(t, err)

		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				h, err := r.Register(fmt.Sprintf("io.example.c%02d", i))
				if assert.NoError(t, err) {
					h.Unregister()
				}
			})
		}
		wg.Wait()
		require.Equal(t, []string{"io.example.keep"}, r.Capabilities())
		require.Equal(t, r.Capabilities(), fc.lastPush())
		keep.Unregister()
	}
}
