package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

var asciiKeys = []string{
	"", "_", "key", "api_key", "apiKey", "APIKey", "XApiKey", "x-api-key", "X-API-KEY", "api_key_file", "max_tokens",
	"token", "Token", "TOKEN", "bearer_token", "clientSecret", "client_secret_id", "password", "passWord", "pass_word",
	"Authorization", "proxy-authorization", "ingest.key", "instrumentation_key", "Key1", "api2Key", "v2Token", "s3SecretKey", "oauth2ClientSecret", "a1B2c3", "ABCdef",
	"HTTPSProxyToken", "session__key", "honeycomb-team", "x.api.key.header", "dsn", "DataSource", "connection string",
}

func TestIsSecretASCIIKeyMatches(t *testing.T) {
	keys := append(append([]string{}, asciiKeys...), yamlShapes...)
	for k := range secretWords {
		keys = append(keys, k, "x_"+k, k+"_file", "Max"+k)
	}
	for _, k := range keys {
		if len(k) > maxASCIIKey || !isASCII(k) {
			continue
		}
		assert.Equal(t, isSecretKeyByWords(k), isSecretASCIIKey(k), "%q", k)
	}
}

func FuzzIsSecretASCIIKey(f *testing.F) {
	for _, k := range asciiKeys {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if len(key) > maxASCIIKey || !isASCII(key) {
			return
		}
		if got, want := isSecretASCIIKey(key), isSecretKeyByWords(key); got != want {
			t.Fatalf("%q: %v, words say %v", key, got, want)
		}
	})
}
