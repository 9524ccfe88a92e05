package transport

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
)

func TestHeaders(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]configopaque.String
		want http.Header
	}{
		{name: "nil map", in: nil, want: http.Header{}},
		{name: "empty map", in: map[string]configopaque.String{}, want: http.Header{}},
		{
			name: "canonicalised",
			in:   map[string]configopaque.String{"authorization": "Bearer x", "x-tenant-id": "t1", "X-Scope": "a"},
			want: http.Header{"Authorization": {"Bearer x"}, "X-Tenant-Id": {"t1"}, "X-Scope": {"a"}},
		},
		{
			name: "collision resolved by sorted order",
			in:   map[string]configopaque.String{"x-a": "lower", "X-A": "upper"},
			want: http.Header{"X-A": {"lower"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Headers(tt.in)
			require.NotNil(t, got)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestValidateHeaders(t *testing.T) {
	tests := []struct {
		name     string
		in       map[string]configopaque.String
		wantErrs []error
	}{
		{name: "nil", in: nil},
		{name: "valid", in: map[string]configopaque.String{"Authorization": "Bearer x", "x-custom_token!": "v", "Host": "h"}},
		{name: "Sec-WebSocket-Protocol is allowed", in: map[string]configopaque.String{"Sec-WebSocket-Protocol": "p"}},
		{name: "empty name", in: map[string]configopaque.String{"": "v"}, wantErrs: []error{errHeaderName}},
		{name: "space in name", in: map[string]configopaque.String{"X Token": "v"}, wantErrs: []error{errHeaderName}},
		{name: "colon in name", in: map[string]configopaque.String{"X-Token:": "v"}, wantErrs: []error{errHeaderName}},
		{name: "non-ASCII name", in: map[string]configopaque.String{"X-Tökén": "v"}, wantErrs: []error{errHeaderName}},
		{name: "newline in value", in: map[string]configopaque.String{"X-Token": "a\r\nInjected: 1"}, wantErrs: []error{errHeaderValue}},
		{name: "NUL in value", in: map[string]configopaque.String{"X-Token": "a\x00"}, wantErrs: []error{errHeaderValue}},
		{name: "same header twice", in: map[string]configopaque.String{"x-token": "a", "X-Token": "b"}, wantErrs: []error{errHeaderDuplicate}},
		{name: "upgrade reserved", in: map[string]configopaque.String{"upgrade": "h2c"}, wantErrs: []error{errHeaderReserved}},
		{name: "websocket key reserved", in: map[string]configopaque.String{"Sec-WebSocket-Key": "k"}, wantErrs: []error{errHeaderReserved}},
		{
			name:     "all problems reported",
			in:       map[string]configopaque.String{"bad name": "v", "Connection": "close", "X-Ok": "a\n"},
			wantErrs: []error{errHeaderName, errHeaderReserved, errHeaderValue},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateHeaders(tt.in)
			if len(tt.wantErrs) == 0 {
				assert.NoError(t, err)
				return
			}
			for _, want := range tt.wantErrs {
				assert.ErrorIs(t, err, want)
			}
		})
	}
}

func TestValidateHeadersNeverEchoesValues(t *testing.T) {
	err := ValidateHeaders(map[string]configopaque.String{"Authorization": "Bearer s3cr3t\n", "Upgrade": "s3cr3t"})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cr3t")
}
