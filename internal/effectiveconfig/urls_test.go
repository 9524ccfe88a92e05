package effectiveconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestScrubURLs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"url without userinfo", "https://example.com:4318/v1/traces?x=1", "https://example.com:4318/v1/traces?x=1"},
		{"user and password", "https://u:p4ss@example.com/x", "https://[REDACTED]@example.com/x"},
		{"token only userinfo", "https://tok3n@example.com", "https://[REDACTED]@example.com"},
		{"dsn", "postgres://u:p@db:5432/app?sslmode=disable", "postgres://[REDACTED]@db:5432/app?sslmode=disable"},
		{"password with slash", "postgres://u:p/ss@db/app", "postgres://[REDACTED]@db/app"},
		{"at in path is not userinfo", "https://example.com/a@b", "https://example.com/a@b"},
		{"port then at in path", "http://host:8080/x@y", "http://host:8080/x@y"},
		{"ipv6", "http://[::1]:8080/x@y", "http://[::1]:8080/x@y"},
		{"embedded urls", "primary https://a:b@one.example and http://c@two.example/x", "primary https://[REDACTED]@one.example and http://[REDACTED]@two.example/x"},
		{"url in query", "https://proxy/?target=http://u:p@inner/", "https://proxy/?target=http://[REDACTED]@inner/"},
		{"already redacted", "https://[REDACTED]@example.com", "https://[REDACTED]@example.com"},
		{"mysql dsn", "me:hunter2@tcp(db:3306)/app", "[REDACTED]@tcp(db:3306)/app"},
		{"no scheme", "://u:p@h", "://u:p@h"},
		{"empty userinfo", "http://@h", "http://@h"},
		{"mysql unix socket", "dsn u:p@unix(/tmp/s)/db", "dsn [REDACTED]@unix(/tmp/s)/db"},
		{"mysql without password kept shape", "host(tcp)", "host(tcp)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scrubMySQLDSN(scrubUserinfo(tt.in))
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, scrubMySQLDSN(scrubUserinfo(got)), "not idempotent")
		})
	}
}
