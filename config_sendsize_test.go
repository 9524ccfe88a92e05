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
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"1 KiB", 1 << 10, false},
		{"default", 64 << 20, false},
		{"1 GiB", 1 << 30, false},
		{"under 1 KiB", 1<<10 - 1, true},
		{"zero", 0, true},
		{"over 1 GiB", 1<<30 + 1, true},
	}
	for _, tr := range []string{"ws", "http"} {
		for _, tt := range tests {
			t.Run(tr+"/"+tt.name, func(t *testing.T) {
				var cfg *Config
				if tr == "ws" {
					cfg = wsConfig("ws://127.0.0.1:4320/v1/opamp")
					cfg.Server.WS.MaxSendSize = tt.size
				} else {
					cfg = httpConfig("http://127.0.0.1:4320/v1/opamp")
					cfg.Server.HTTP.MaxSendSize = tt.size
				}
				err := cfg.Validate()
				if tt.wantErr {
					require.Error(t, err)
					assert.Contains(t, err.Error(), "server."+tr+".max_send_size")
					return
				}
				require.NoError(t, err)
				st, err := buildStartSettings(t.Context(), cfg, nil, zap.NewNop())
				require.NoError(t, err)
				assert.Equal(t, tt.size, st.MaxSendSize)
			})
		}
	}
}
