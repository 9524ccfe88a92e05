package transport

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

func TestValidateProxyURL(t *testing.T) {
	tests := []struct {
		name    string
		proxy   string
		wantErr error
	}{
		{name: "http", proxy: "http://proxy.example:3128"},
		{name: "http default port", proxy: "http://proxy.example"},
		{name: "https with credentials", proxy: "https://user:pass@proxy.example:443"},
		{name: "socks5", proxy: "socks5://127.0.0.1:1080"},
		{name: "empty", proxy: "", wantErr: errEmptyURL},
		{name: "no scheme", proxy: "proxy.example:3128", wantErr: errMissingScheme},
		{name: "socks5h", proxy: "socks5h://127.0.0.1:1080", wantErr: errUnsupportedScheme},
		{name: "ftp", proxy: "ftp://proxy.example", wantErr: errUnsupportedScheme},
		{name: "no host", proxy: "http://:3128", wantErr: errMissingHost},
		{name: "bad port", proxy: "http://proxy.example:port", wantErr: errInvalidURL},
		{name: "socks5 without port", proxy: "socks5://127.0.0.1", wantErr: errProxyPort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateProxyURL(tt.proxy)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestValidateProxyURLHidesPassword(t *testing.T) {
	for _, proxy := range []string{"ftp://user:hunter2@proxy.example", "http://user:hunter2@proxy.example:port", "socks5://user:hunter2@127.0.0.1"} {
		err := ValidateProxyURL(proxy)
		require.Error(t, err, proxy)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

func TestValidateProxy(t *testing.T) {
	auth := map[string]configopaque.String{"Proxy-Authorization": "Basic abc"}
	tests := []struct {
		name     string
		endpoint string
		proxy    string
		headers  map[string]configopaque.String
		wantErr  error
	}{
		{name: "ws via http proxy with headers", endpoint: "ws://opamp:4320/v1/opamp", proxy: "http://proxy:3128", headers: auth},
		{name: "wss via http proxy", endpoint: "wss://opamp/v1/opamp", proxy: "http://proxy:3128"},
		{name: "wss via socks5", endpoint: "wss://opamp/v1/opamp", proxy: "socks5://proxy:1080"},
		{name: "https via https proxy with headers", endpoint: "https://opamp/v1/opamp", proxy: "https://proxy:443", headers: auth},
		{name: "http via http proxy without headers", endpoint: "http://opamp/v1/opamp", proxy: "http://u:p@proxy:3128"},
		{name: "bad endpoint left to ValidateEndpoint", endpoint: "", proxy: "http://proxy:3128"},
		{name: "ws via https proxy", endpoint: "ws://opamp:4320/v1/opamp", proxy: "https://proxy:443", wantErr: errProxyUnsupported},
		{name: "wss via https proxy with headers", endpoint: "wss://opamp/v1/opamp", proxy: "https://proxy:443", headers: auth, wantErr: errProxyUnsupported},
		{name: "socks5 with headers", endpoint: "https://opamp/v1/opamp", proxy: "socks5://proxy:1080", headers: auth, wantErr: errProxyUnsupported},
		{name: "http endpoint with headers", endpoint: "http://opamp/v1/opamp", proxy: "http://proxy:3128", headers: auth, wantErr: errProxyUnsupported},
		{name: "bad proxy URL", endpoint: "ws://opamp/v1/opamp", proxy: "proxy:3128", wantErr: errMissingScheme},
		{name: "bad proxy header", endpoint: "ws://opamp/v1/opamp", proxy: "http://proxy:3128", headers: map[string]configopaque.String{"bad name": "x"}, wantErr: errHeaderName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateProxy(tt.endpoint, tt.proxy, tt.headers)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}
