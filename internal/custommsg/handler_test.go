package custommsg

import (
	"testing"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestSendMessage(t *testing.T) {
	pending := make(chan struct{})
	tests := []struct {
		name       string
		attach     bool
		pending    chan struct{}
		unregister bool
		wantErr    error
		wantChan   chan struct{}
		wantSent   int
		wantCalls  int
	}{
		{name: "sent", attach: true, wantSent: 1, wantCalls: 1},
		{name: "not attached", wantErr: ErrNotConnected},
		{name: "unregistered", attach: true, unregister: true, wantErr: ErrUnregistered},
		{name: "unregistered and not attached", unregister: true, wantErr: ErrUnregistered},
		{name: "pending passes channel through", attach: true, pending: pending, wantErr: types.ErrCustomMessagePending, wantChan: pending, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRegistry(zap.NewNop())
			fc := &fakeClient{pending: tt.pending}
			if tt.attach {
				r.Attach(fc)
			}
			h, err := r.Register("io.example.a")
			require.NoError(t, err)
			if tt.unregister {
				h.Unregister()
			}

			ch, err := h.SendMessage("kind", []byte("payload"))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				require.NotNil(t, ch)
			}
			if tt.wantChan != nil {
				assert.Equal(t, tt.wantChan, ch)
			}
			sent := fc.sentMessages()
			require.Len(t, sent, tt.wantSent)
			for _, m := range sent {
				assert.Equal(t, "io.example.a", m.GetCapability())
				assert.Equal(t, "kind", m.GetType())
				assert.Equal(t, []byte("payload"), m.GetData())
			}
			assert.Equal(t, tt.wantCalls, fc.sendCount)
		})
	}
}

func TestUnregisterClosesChannelOnce(t *testing.T) {
	r := NewRegistry(zap.NewNop())
	h, err := r.Register("io.example.a", nil)
	require.NoError(t, err)
	r.Dispatch(msg("io.example.a", "queued"))

	h.Unregister()
	h.Unregister()

	got, ok := <-h.Message()
	require.True(t, ok, "messages queued before Unregister stay readable")
	assert.Equal(t, "queued", got.GetType())
	_, ok = <-h.Message()
	assert.False(t, ok, "channel is closed after the queue drains")

	r.Dispatch(msg("io.example.a", "late"))
	assert.Zero(t, r.Dropped(), "an unregistered handler is not offered messages")
}
