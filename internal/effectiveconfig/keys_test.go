package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsSecretKey(t *testing.T) {
	tests := []struct {
		key    string
		secret bool
	}{
		// Passwords.
		{"password", true},
		{"otlphttp/secret", false},
		{"traces/token", false},
		{"Password", true},
		{"passwd", true},
		{"pwd", true},
		{"passphrase", true},
		{"db_password", true},
		{"basicAuthPassword", true},
		// Secrets.
		{"secret", true},
		{"client_secret", true},
		{"clientSecret", true},
		{"secret_access_key", true},
		// Tokens.
		{"token", true},
		{"tokens", true},
		{"access_token", true},
		{"bearer_token", true},
		{"auth_token", true},
		{"refresh_token", true},
		{"id_token", true},
		{"accessToken", true},
		{"X-SF-Token", true},
		{"sas_token", true},
		// API keys in any spelling.
		{"api_key", true},
		{"apikey", true},
		{"api-key", true},
		{"x-api-key", true},
		{"X-API-KEY", true},
		{"ApiKey", true},
		{"APIKey", true},
		{"DD-API-KEY", true},
		{"license_key", true},
		{"X-Insert-Key", true},
		{"X-Honeycomb-Team", true},
		// Headers and schemes.
		{"authorization", true},
		{"Authorization", true},
		{"proxy-authorization", true},
		{"Proxy-Authorization", true},
		{"bearer", true},
		{"cookie", true},
		{"Set-Cookie", true},
		{"session_key", true},
		// Keys, credentials, signatures, connection strings.
		{"private_key", true},
		{"privateKey", true},
		{"key_pem", true},
		{"private_key_pem", true},
		{"credentials", true},
		{"credential", true},
		{"signature", true},
		{"X-Amz-Signature", true},
		{"sig", true},
		{"sas", true},
		{"dsn", true},
		{"connection_string", true},
		{"ConnectionString", true},
		{"datasource", true},
		{"shared_key", true},
		// Paths to secrets are useful configuration.
		{"key_file", false},
		{"cert_file", false},
		{"ca_file", false},
		{"password_file", false},
		{"token_file", false},
		{"bearer_token_file", false},
		{"credentials_file", false},
		{"api_key_path", false},
		// URLs and endpoints: kept, their userinfo is scrubbed separately.
		{"token_endpoint", false},
		{"token_url", false},
		{"tokenUrl", false},
		// Counts, toggles and metadata.
		{"max_tokens", false},
		{"num_tokens", false},
		{"token_type", false},
		{"token_ttl", false},
		{"api_key_header", false},
		{"secret_name", false},
		{"access_key_id", false},
		{"include_credentials", false},
		{"signature_algorithm", false},
		{"password_env", false},
		// Ambiguous or unrelated.
		{"key", false},
		{"keys", false},
		{"cert_pem", false},
		{"ca_pem", false},
		{"routing_key", false},
		{"auth", false},
		{"authenticator", false},
		{"tokenizer", false},
		{"insecure_skip_verify", false},
		{"endpoint", false},
		{"username", false},
		{"client_id", false},
		{"X-Scope-OrgID", false},
		{"User-Agent", false},
		{"", false},
		{"___", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.secret, IsSecretKey(tt.key))
		})
	}
}

func TestSplitWords(t *testing.T) {
	tests := []struct {
		key  string
		want []string
	}{
		{"x-api_key", []string{"x", "api", "key"}},
		{"XApiKey", []string{"x", "api", "key"}},
		{"APIKey", []string{"api", "key"}},
		{"oauth2Token", []string{"oauth2", "token"}},
		{"tls.key_pem", []string{"tls", "key", "pem"}},
		{"Proxy-Authorization", []string{"proxy", "authorization"}},
		{"HTTPServer", []string{"http", "server"}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.want, splitWords(tt.key))
		})
	}
}
