package opampextension

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConnectionSettingsConfig: every bad combination is refused naming
// its key, and the status report follows accepts by default.
func TestConnectionSettingsConfig(t *testing.T) {
	f := false
	cases := []struct {
		name  string
		edit  func(c *Config)
		field string // "" when valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"accepts with a directory", func(c *Config) {
			c.Capabilities.AcceptsOpAMPConnectionSettings = true
			c.Storage.Directory = t.TempDir()
		}, ""},
		{"accepts without a directory", func(c *Config) { c.Capabilities.AcceptsOpAMPConnectionSettings = true }, "storage.directory"},
		{"own metrics without a directory", func(c *Config) { c.Capabilities.ReportsOwnMetrics = true }, "storage.directory"},
		{"certificate request alone", func(c *Config) {
			c.ConnectionSettings.CertificateRequest = true
			c.Storage.Directory = t.TempDir()
		}, "connection_settings.certificate_request"},
		{"zero try timeout", func(c *Config) { c.ConnectionSettings.TryTimeout = 0 }, "connection_settings.try_timeout"},
		{"huge try timeout", func(c *Config) { c.ConnectionSettings.TryTimeout = time.Hour }, "connection_settings.try_timeout"},
		{"negative renew window", func(c *Config) { c.ConnectionSettings.CertificateRenewBefore = -time.Second }, "connection_settings.certificate_renew_before"},
		{"status off explicitly", func(c *Config) {
			c.Capabilities.AcceptsOpAMPConnectionSettings = true
			c.Capabilities.ReportsConnectionSettingsStatus = &f
			c.Storage.Directory = t.TempDir()
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := wsConfig("ws://127.0.0.1:4320/v1/opamp")
			tc.edit(cfg)
			err := cfg.Validate()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tc.field+":"), "%q does not name %s", err, tc.field)
		})
	}
	cfg := wsConfig("ws://127.0.0.1:4320/v1/opamp")
	assert.False(t, cfg.reportsConnectionSettingsStatus())
	cfg.Capabilities.AcceptsOpAMPConnectionSettings = true
	assert.True(t, cfg.reportsConnectionSettingsStatus())
	cfg.Capabilities.ReportsConnectionSettingsStatus = &f
	assert.False(t, cfg.reportsConnectionSettingsStatus())
}
