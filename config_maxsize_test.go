package opampextension

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaxMessageSizeDefault(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, 64<<20, cfg.Server.WS.MaxMessageSize, "factory default: the specification's recommended 64 MiB")

	cfg, err := loadConfig(t, "max_message_size.yaml", "http_default")
	require.NoError(t, err)
	require.NotNil(t, cfg.Server.HTTP)
	assert.Equal(t, 64<<20, cfg.Server.HTTP.MaxMessageSize, "an http block with only an endpoint keeps the default")
}

// sizeCase is one value of a size key and whether Validate refuses it.
type sizeCase struct {
	name    string
	size    int
	wantErr bool
}

// checkSizeKey runs tests on both transports: set puts the size into the
// transport's server settings; a refusal must name server.<transport>.key,
// and accepted (when not nil) checks a config Validate accepted.
func checkSizeKey(t *testing.T, key string, set func(*ServerSettings, int), tests []sizeCase, accepted func(t *testing.T, cfg *Config, size int)) {
	t.Helper()
	for _, tr := range []string{"ws", "http"} {
		for _, tt := range tests {
			t.Run(tr+"/"+tt.name, func(t *testing.T) {
				cfg := wsConfig("ws://127.0.0.1:4320/v1/opamp")
				if tr == "http" {
					cfg = httpConfig("http://127.0.0.1:4320/v1/opamp")
				}
				set(cfg.serverSettings(), tt.size)
				err := cfg.Validate()
				if tt.wantErr {
					require.Error(t, err)
					assert.Contains(t, err.Error(), "server."+tr+"."+key)
					return
				}
				require.NoError(t, err)
				if accepted != nil {
					accepted(t, cfg, tt.size)
				}
			})
		}
	}
}

// TestMaxMessageSizeValidate: 1 byte to 1 GiB is accepted on both
// transports; anything else is an error naming the transport's key.
func TestMaxMessageSizeValidate(t *testing.T) {
	checkSizeKey(t, "max_message_size", func(s *ServerSettings, n int) { s.MaxMessageSize = n }, []sizeCase{
		{"one byte", 1, false},
		{"default", 64 << 20, false},
		{"1 GiB", 1 << 30, false},
		{"zero", 0, true},
		{"negative", -1, true},
		{"over 1 GiB", 1<<30 + 1, true},
	}, nil)
}

// TestMaxMessageSizeFromFile: the key is read from a config file, and bad
// values there fail validation naming it.
func TestMaxMessageSizeFromFile(t *testing.T) {
	tests := []struct {
		file, id string
		want     int    // the loaded size when valid
		field    string // the key the error must name when invalid
	}{
		{file: "max_message_size.yaml", id: "ws_small", want: 65536},
		{file: "max_message_size.yaml", id: "http_largest", want: 1 << 30},
		{file: "config.yaml", id: "opamp/all", want: 1 << 20},
		{file: "max_message_size.yaml", id: "ws_zero", field: "server.ws.max_message_size"},
		{file: "max_message_size.yaml", id: "http_negative", field: "server.http.max_message_size"},
		{file: "max_message_size.yaml", id: "http_over_1gib", field: "server.http.max_message_size"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			cfg, err := loadConfig(t, tt.file, tt.id)
			if tt.field != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.field)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.serverSettings().MaxMessageSize)
		})
	}
}
