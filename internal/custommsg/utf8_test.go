package custommsg

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/proto"
)

// TestInvalidUTF8Repaired: a capability and a message type that are not
// valid UTF-8 reach the client repaired (they are protobuf strings), with
// one warning each however many messages carry them.
func TestInvalidUTF8Repaired(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	r := NewRegistry(zap.New(core))
	fc := &fakeClient{}
	r.Attach(fc)
	h, err := r.Register("io.example.caf\xe9")
	require.NoError(t, err)
	assert.Equal(t, []string{"io.example.caf\uFFFD"}, r.Capabilities())
	for range 3 {
		_, err = h.SendMessage("t\xff", []byte("\xff data stays bytes"))
		require.NoError(t, err)
	}
	sent := fc.sentMessages()
	require.Len(t, sent, 3)
	for _, m := range sent {
		assert.Equal(t, "io.example.caf\uFFFD", m.GetCapability())
		assert.Equal(t, "t\uFFFD", m.GetType())
		assert.Equal(t, []byte("\xff data stays bytes"), m.GetData())
		_, err := proto.Marshal(m)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, logs.Len(), "one warning for the capability, one for the type: %v", logs.All())
}
