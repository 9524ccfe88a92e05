package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestScrubString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain", "0.0.0.0:4317", "0.0.0.0:4317"},
		{"jwt alone", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "[REDACTED]"},
		{"jwt in text", "tenant=t1 id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2ln, next", "tenant=t1 id_token [REDACTED], next"},
		{"unsigned jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtZSJ9.", "[REDACTED]"},
		{"jwt-like kept", "eyJ.eyJ.x and xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2ln", "eyJ.eyJ.x and xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2ln"},
		{"pem private key", "key: -----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK==\n-----END RSA PRIVATE KEY-----\nafter", "key: [REDACTED]\nafter"},
		{"pem key cut short", "-----BEGIN PRIVATE KEY-----\nMIIEvQ", "[REDACTED]"},
		{"pem certificate kept", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
		{"pem cert then key", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n[REDACTED]"},
		{"connection string password", "Server=tcp:db,1433;User ID=me;Password=hunter2;Encrypt=true", "Server=tcp:db,1433;User ID=me;Password=[REDACTED];Encrypt=true"},
		{"amqp url password", "amqp://me:hunter2@mq:5672/vhost", "amqp://[REDACTED]@mq:5672/vhost"},
		{"query tokens", "https://h/p?api_key=k1&channel=ops&token=t1&sig=s1", "https://h/p?api_key=[REDACTED]&channel=ops&token=[REDACTED]&sig=[REDACTED]"},
		{"query key", "https://maps.example/api?key=AIzaXYZ&q=1", "https://maps.example/api?key=[REDACTED]&q=1"},
		{"key outside query", "key=region", "key=region"},
		{"query token url kept", "https://h/?token_url=https://auth/t", "https://h/?token_url=https://auth/t"},
		{"kv dsn", "host=db user=me password=hunter2 sslmode=disable", "host=db user=me password=[REDACTED] sslmode=disable"},
		{"quoted kv", "host=db password='a b c' port=1", "host=db password='[REDACTED]' port=1"},
		{"odbc", "Server=db;Uid=me;Pwd=hunter2;", "Server=db;Uid=me;Pwd=[REDACTED];"},
		{"header line", "X-Api-Key: abc123", "X-Api-Key: [REDACTED]"},
		{"header csv", "api-key=abc,tenant=t1", "api-key=[REDACTED],tenant=t1"},
		{"env reference kept", "token=${env:TOKEN}", "token=${env:TOKEN}"},
		{"env default redacted", "token=${env:TOKEN:-lit}", "token=[REDACTED]"},
		{"bearer", "Bearer abc.def", "Bearer [REDACTED]"},
		{"authorization line", "Authorization: Bearer abc", "Authorization: [REDACTED]"},
		{"basic", "Basic dXNlcjpwYXNz", "Basic [REDACTED]"},
		{"basic prose kept", "basic auth", "basic auth"},
		{"scheme colon kept", "token: https://h/x", "token: [REDACTED]"},
		{"empty", "", ""},
		{"json", `{"api_key":"k1","password":"p w","user":"me"}`, `{"api_key":"[REDACTED]","password":"[REDACTED]","user":"me"}`},
		{"json spaced", `{ "token" : "t1" , "n": 1 }`, `{ "token" : "[REDACTED]" , "n": 1 }`},
		{"json escaped quote", `{"password":"a\"b","x":1}`, `{"password":"[REDACTED]","x":1}`},
		{"json bare number", `{"pin_secret":1234,"port":80}`, `{"pin_secret":"[REDACTED]","port":80}`},
		{"json null kept", `{"password":null}`, `{"password":null}`},
		{"json object", `{"credentials":{"user":"u","k":[1,"}"]},"region":"eu"}`, `{"credentials":"[REDACTED]","region":"eu"}`},
		{"json in json", `{"env":"{\"token\":\"t1\",\"r\":\"eu\"}"}`, `{"env":"{\"token\":\"[REDACTED]\",\"r\":\"eu\"}"}`},
		{"python repr", `{'client_secret': 'cs1', 'scope': 'x'}`, `{'client_secret': '[REDACTED]', 'scope': 'x'}`},
		{"quoted key not secret", `{"name":"password"}`, `{"name":"password"}`},
		{"ini spaced", `user = "u" password = "a b" port = 1`, `user = "u" password = "[REDACTED]" port = 1`},
		{"ini bare", `password = hunter2 port = 1`, `password = [REDACTED] port = 1`},
		{"empty value then pair", "password= user=me", "password= user=me"},
		{"authorization scheme pair", "Authorization=Splunk abc-123,X-Tenant=t", "Authorization=[REDACTED],X-Tenant=t"},
		{"authorization bearer pair", "authorization=Bearer abc", "authorization=[REDACTED]"},
		{"authorization scheme then pair", "Authorization=Splunk user=me", "Authorization=[REDACTED] user=me"},
		{"authorization single word", "Authorization=abc123 x=1", "Authorization=[REDACTED] x=1"},
		{"non-auth value one word", "token=abc def", "token=[REDACTED] def"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scrubString(tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, scrubString(got), "not idempotent")
		})
	}
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		s, word string
		want    bool
	}{
		{"Authorization: BEARER x", "bearer", true},
		{"basic", "basic", true},
		{"bas", "basic", false},
		{"", "bearer", false},
		{"a Bearish b", "bearer", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, containsFold(tt.s, tt.word), tt.s)
	}
}
