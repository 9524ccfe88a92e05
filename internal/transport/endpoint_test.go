package transport

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValidateEndpoint(t *testing.T) {
	ws := []string{SchemeWS, SchemeWSS}
	httpOnly := []string{SchemeHTTP, SchemeHTTPS}
	tests := []struct {
		name     string
		endpoint string
		allowed  []string
		wantErr  error
	}{
		{name: "ws", endpoint: "ws://127.0.0.1:4320/v1/opamp", allowed: ws},
		{name: "wss", endpoint: "wss://opamp.example.com/v1/opamp", allowed: ws},
		{name: "upper-case scheme", endpoint: "WSS://opamp.example.com/v1/opamp", allowed: ws},
		{name: "http", endpoint: "http://localhost:4320/v1/opamp", allowed: httpOnly},
		{name: "https with query", endpoint: "https://[::1]:4320/v1/opamp?tenant=a", allowed: httpOnly},
		{name: "any scheme by default", endpoint: "https://opamp.example.com/v1/opamp"},
		{name: "empty", endpoint: "", allowed: ws, wantErr: errEmptyURL},
		{name: "surrounding spaces", endpoint: " ws://127.0.0.1:4320 ", allowed: ws, wantErr: errSurroundingSpace},
		{name: "host:port without scheme", endpoint: "127.0.0.1:4320/v1/opamp", allowed: ws, wantErr: errMissingScheme},
		{name: "name:port without scheme", endpoint: "localhost:4320", allowed: ws, wantErr: errMissingScheme},
		{name: "unparsable port", endpoint: "ws://127.0.0.1:port/v1/opamp", allowed: ws, wantErr: errInvalidURL},
		{name: "control character", endpoint: "ws://127.0.0.1/\x7f", allowed: ws, wantErr: errInvalidURL},
		{name: "http for ws transport", endpoint: "http://127.0.0.1:4320/v1/opamp", allowed: ws, wantErr: errUnsupportedScheme},
		{name: "wss for http transport", endpoint: "wss://127.0.0.1:4320/v1/opamp", allowed: httpOnly, wantErr: errUnsupportedScheme},
		{name: "tcp by default", endpoint: "tcp://127.0.0.1:4320", wantErr: errUnsupportedScheme},
		{name: "no host", endpoint: "ws:///v1/opamp", allowed: ws, wantErr: errMissingHost},
		{name: "port only", endpoint: "ws://:4320/v1/opamp", allowed: ws, wantErr: errMissingHost},
		{name: "userinfo on ws", endpoint: "ws://user:pw@127.0.0.1:4320/v1/opamp", allowed: ws, wantErr: errUserinfoWS},
		{name: "userinfo on http (basic auth)", endpoint: "http://user:pw@127.0.0.1:4320/v1/opamp", allowed: httpOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateEndpoint(tt.endpoint, tt.allowed...)
			if tt.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestValidateEndpointRedactsPassword(t *testing.T) {
	err := ValidateEndpoint("ftp://user:hunter2@127.0.0.1/", SchemeWS)
	require.ErrorIs(t, err, errUnsupportedScheme)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestRedacted(t *testing.T) {
	assert.Equal(t, "http://user:xxxxx@host/v1/opamp", Redacted("http://user:hunter2@host/v1/opamp"))
	assert.Equal(t, "ws://host/v1/opamp", Redacted("ws://host/v1/opamp"))
	assert.Equal(t, "(unparsable URL)", Redacted("ws://host:port/"))
}
