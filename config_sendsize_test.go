package opampextension

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// TestMaxSendSize: server.*.max_send_size defaults to 64 MiB (the
// specification's recommendation, as max_message_size), accepts 1 KiB to
// 1 GiB on both transports and reaches the client's settings.
func TestMaxSendSize(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, 64<<20, cfg.Server.WS.MaxSendSize)
	checkSizeKey(t, "max_send_size", func(s *ServerSettings, n int) { s.MaxSendSize = n }, []sizeCase{
		{"1 KiB", 1 << 10, false},
		{"default", 64 << 20, false},
		{"1 GiB", 1 << 30, false},
		{"under 1 KiB", 1<<10 - 1, true},
		{"zero", 0, true},
		{"over 1 GiB", 1<<30 + 1, true},
	}, func(t *testing.T, cfg *Config, size int) {
		st, err := buildStartSettings(t.Context(), cfg, nil, zap.NewNop())
		require.NoError(t, err)
		assert.Equal(t, size, st.MaxSendSize)
	})
}
