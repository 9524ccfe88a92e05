package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsRefOnly(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"${env:API_TOKEN}", true},
		{"${env:A}${file:/run/secrets/b}", true},
		{"${API_TOKEN}", true},
		{"${env:A:-default}", false},
		{"Bearer ${env:A}", false},
		{"${env:A} ", false},
		{"$${env:A}", false},
		{"${}", false},
		{"${env:A", false},
		{"", false},
		{"plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, isRefOnly(tt.in))
		})
	}
}

func TestHasSecretRef(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"${env:REDACTION_WEBHOOK_SECRET}", true},
		{"${env:API_TOKEN:-fallback}", true},
		{"${API_TOKEN}", true},
		{"Bearer ${env:API_TOKEN}", true},
		{"https://hooks.example.com/${env:WEBHOOK_TOKEN}", true},
		{"${env:TENANT}-${env:apiKey}", true},
		{"${env:${env:TOKEN_VAR}}", true},
		{"${env:${env:PREFIX}_PASSWORD}", true},
		{"${env:A ${env:API_TOKEN}", true},
		{"${file:/run/secrets/api_token}", true},
		{"${file:/run/secrets/db}", true},
		{"${file:./db_password.txt}", true},
		{"${file:/etc/otel/api.key}", true},
		{"${https://config.example.com/creds/api_token}", true},
		{"${vault:kv/otel#endpoint}", true},
		{"${secretsmanager:otel/prod}", true},
		{"$$${env:API_TOKEN}", true},
		{"$${env:API_TOKEN}", false},
		{"${env:TENANT}", false},
		{"${env:API_TOKEN_FILE}", false},
		{"${env:TENANT:-${API_TOKEN_PATH}}", false},
		{"${file:/etc/otel/client.key}", false},
		{"${file:/etc/otel/receivers.yaml}", false},
		{"${https://secrets.example.com/config.yaml?token=x}", false},
		{"${yaml:password: x}", false},
		{"${env:API_TOKEN", false},
		{"API_TOKEN", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, hasSecretRef(tt.in))
		})
	}
}
