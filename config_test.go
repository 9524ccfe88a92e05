package opampextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

func loadConfig(t *testing.T, file, id string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	require.NoError(t, err)
	sub, err := cm.Sub(id)
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.True(t, cfg.Capabilities.ReportsEffectiveConfig)
	assert.True(t, cfg.Capabilities.ReportsHealth)
	assert.True(t, cfg.Capabilities.ReportsAvailableComponents)
	assert.False(t, cfg.Capabilities.AcceptsRestartCommand)
	assert.False(t, cfg.Capabilities.ReportsHeartbeat)
	assert.Equal(t, 5*time.Second, cfg.PPIDPollInterval)
	assert.Equal(t, 30*time.Second, cfg.HeartbeatInterval)
	assert.Equal(t, 5*time.Second, cfg.Server.WS.ReconnectSpread)
	assert.Equal(t, 4<<20, cfg.CustomMessages.MaxMessageSize)
	// The default has no endpoint: it must not validate on its own.
	require.ErrorContains(t, cfg.Validate(), "server.ws.endpoint")
}

func TestLoadValidConfigs(t *testing.T) {
	t.Run("ws", func(t *testing.T) {
		cfg, err := loadConfig(t, "config.yaml", "opamp/ws")
		require.NoError(t, err)
		require.NotNil(t, cfg.Server.WS)
		assert.Nil(t, cfg.Server.HTTP)
		assert.Equal(t, "ws://127.0.0.1:4320/v1/opamp", cfg.Server.WS.Endpoint)
		assert.Equal(t, 5*time.Second, cfg.Server.WS.ReconnectSpread, "defaults survive a config that names its transport")
		assert.True(t, cfg.Capabilities.ReportsHealth)
	})
	t.Run("http gets its default polling interval", func(t *testing.T) {
		cfg, err := loadConfig(t, "config.yaml", "opamp/http")
		require.NoError(t, err)
		require.NotNil(t, cfg.Server.HTTP)
		assert.Nil(t, cfg.Server.WS, "the default ws block must not survive an http config")
		assert.Equal(t, 30*time.Second, cfg.Server.HTTP.PollingInterval)
	})
	t.Run("supervisor block", func(t *testing.T) {
		cfg, err := loadConfig(t, "config.yaml", "opamp/supervisor")
		require.NoError(t, err)
		assert.True(t, cfg.Server.WS.TLS.Insecure)
		assert.Equal(t, "0192f3a5-7c4e-7b8a-9c1d-2e3f4a5b6c7d", cfg.InstanceUID)
		assert.Equal(t, int32(4242), cfg.PPID)
		// The Supervisor sets neither: both must default to true.
		assert.True(t, cfg.Capabilities.ReportsEffectiveConfig)
		assert.True(t, cfg.Capabilities.ReportsHealth)
		assert.True(t, cfg.Capabilities.ReportsAvailableComponents)
	})
	t.Run("every key", func(t *testing.T) {
		cfg, err := loadConfig(t, "config.yaml", "opamp/all")
		require.NoError(t, err)
		h := cfg.Server.HTTP
		require.NotNil(t, h)
		assert.Equal(t, 10*time.Second, h.PollingInterval)
		assert.Equal(t, "/etc/otel/ca.pem", h.TLS.CAFile)
		assert.Equal(t, time.Hour, h.TLS.ReloadInterval)
		assert.Equal(t, configopaque.String("team-a"), h.Headers["X-Tenant"])
		require.NotNil(t, h.Auth)
		assert.Equal(t, component.MustNewIDWithName("bearertokenauth", "opamp"), *h.Auth)
		assert.Equal(t, "http://proxy.internal:3128", h.Proxy.URL)
		assert.Contains(t, h.Proxy.Headers, "Proxy-Authorization")
		assert.True(t, h.EnableCompression)
		assert.Equal(t, Capabilities{AcceptsRestartCommand: true, ReportsHeartbeat: true}, cfg.Capabilities)
		assert.Equal(t, 15*time.Second, cfg.HeartbeatInterval)
		assert.Equal(t, "production", cfg.AgentDescription.NonIdentifyingAttributes["deployment.environment.name"])
		assert.True(t, cfg.AgentDescription.IncludeResourceAttributes)
		assert.Equal(t, int32(77), cfg.PPID)
		assert.Equal(t, 2*time.Second, cfg.PPIDPollInterval)
		assert.True(t, cfg.ReportsRawConfig)
		assert.True(t, cfg.EffectiveConfig.IncludeUnexpanded)
		assert.Equal(t, 65536, cfg.CustomMessages.MaxMessageSize)
	})
	t.Run("ulid", func(t *testing.T) {
		_, err := loadConfig(t, "config.yaml", "opamp/ulid")
		require.NoError(t, err)
	})
}

func TestInvalidConfigsNameTheirField(t *testing.T) {
	tests := []struct {
		id    string
		field string
	}{
		{"no_server", "server"},
		{"both_transports", "only one of server.ws or server.http"},
		{"empty_endpoint", "server.ws.endpoint"},
		{"ws_scheme_on_http", "server.http.endpoint"},
		{"http_scheme_on_ws", "server.ws.endpoint"},
		{"negative_polling", "server.http.polling_interval"},
		{"negative_heartbeat", "heartbeat_interval"},
		{"bad_instance_uid", "instance_uid"},
		{"ws_with_tls_files", "server.ws.tls"},
		{"zero_ppid_poll", "ppid_poll_interval"},
		{"bad_proxy", "server.ws.proxy.url"},
		{"huge_reconnect_spread", "server.ws.reconnect_spread"},
		{"empty_auth", "server.ws.auth"},
		{"userinfo_on_ws", "server.ws.endpoint"},
		{"zero_custom_message_size", "custom_messages.max_message_size"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			_, err := loadConfig(t, "invalid.yaml", tt.id)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}
