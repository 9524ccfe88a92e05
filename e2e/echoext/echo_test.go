package echoext

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/client/types"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampcustommessages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type host map[component.ID]component.Component

func (h host) GetExtensions() map[component.ID]component.Component { return h }

type sent struct{ typ, data string }

// fakeHandler records sends; the first busy sends report a pending message.
type fakeHandler struct {
	ch chan *protobufs.CustomMessage

	mu           sync.Mutex
	busy         int
	sent         []sent
	unregistered bool
}

func (f *fakeHandler) Message() <-chan *protobufs.CustomMessage { return f.ch }

func (f *fakeHandler) SendMessage(typ string, data []byte) (chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	done := make(chan struct{})
	close(done)
	if f.busy > 0 {
		f.busy--
		return done, types.ErrCustomMessagePending
	}
	f.sent = append(f.sent, sent{typ, string(data)})
	return done, nil
}

func (f *fakeHandler) Unregister() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unregistered = true
}

func (f *fakeHandler) snapshot() ([]sent, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.sent...), f.unregistered
}

type fakeRegistry struct {
	component.StartFunc
	component.ShutdownFunc
	handler    *fakeHandler
	capability string
}

func (r *fakeRegistry) Register(capability string, _ ...opampcustommessages.CustomCapabilityRegisterOption) (opampcustommessages.CustomCapabilityHandler, error) {
	r.capability = capability
	return r.handler, nil
}

func newExt(t *testing.T) *echo {
	t.Helper()
	f := NewFactory()
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), f.CreateDefaultConfig())
	require.NoError(t, err)
	return ext.(*echo)
}

func TestEchoesEveryMessage(t *testing.T) {
	h := &fakeHandler{ch: make(chan *protobufs.CustomMessage, 4), busy: 2}
	reg := &fakeRegistry{handler: h}
	e := newExt(t)
	require.NoError(t, e.Start(context.Background(), host{component.MustNewID("opamp"): reg}))
	assert.Equal(t, Capability, reg.capability)

	h.ch <- &protobufs.CustomMessage{Capability: Capability, Type: "ping", Data: []byte("one")}
	h.ch <- &protobufs.CustomMessage{Capability: Capability, Type: "ping", Data: []byte("two")}
	require.Eventually(t, func() bool { s, _ := h.snapshot(); return len(s) == 2 }, 5*time.Second, 5*time.Millisecond)

	require.NoError(t, e.Shutdown(context.Background()))
	got, unregistered := h.snapshot()
	assert.Equal(t, []sent{{ReplyType, "one"}, {ReplyType, "two"}}, got)
	assert.True(t, unregistered)
}

func TestStopsWhenChannelCloses(t *testing.T) {
	h := &fakeHandler{ch: make(chan *protobufs.CustomMessage)}
	e := newExt(t)
	require.NoError(t, e.Start(context.Background(), host{component.MustNewID("opamp"): &fakeRegistry{handler: h}}))
	close(h.ch)
	require.NoError(t, e.Shutdown(context.Background()))
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		host host
		want string
	}{
		{name: "missing", host: host{}, want: `extension "opamp" is not configured`},
		{
			name: "not a registry",
			host: host{component.MustNewID("opamp"): &struct {
				component.StartFunc
				component.ShutdownFunc
			}{}},
			want: `extension "opamp" is not a custom capability registry`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExt(t)
			err := e.Start(context.Background(), tt.host)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			require.NoError(t, e.Shutdown(context.Background()))
		})
	}
}

func TestDependencies(t *testing.T) {
	e := newEcho(&Config{OpAMPExtension: component.MustNewIDWithName("opamp", "x")}, nil)
	assert.Equal(t, []component.ID{component.MustNewIDWithName("opamp", "x")}, e.Dependencies())
}

func TestConfigValidate(t *testing.T) {
	assert.NoError(t, createDefaultConfig().(*Config).Validate())
	assert.ErrorContains(t, (&Config{}).Validate(), "opampextension:")
}
