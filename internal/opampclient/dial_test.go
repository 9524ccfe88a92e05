package opampclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConnectViaRefusals: a proxy that refuses the tunnel yields a
// StatusError marked as the proxy's; one that talks out of turn is refused.
func TestConnectViaRefusals(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		code   int // 0: not a StatusError
	}{
		{"auth required", "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", http.StatusProxyAuthRequired},
		{"forbidden", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", http.StatusForbidden},
		{"data before the tunnel", "HTTP/1.1 200 OK\r\n\r\nunexpected", 0},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proxy := newFixture(t, func(_ *fixture, c net.Conn) {
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil {
					return
				}
				_, _ = io.WriteString(c, tt.answer)
				_, _ = io.Copy(io.Discard, c)
			})
			obs := &recObserver{}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			conn, err := newDialer(obs).connectVia(ctx, &url.URL{Scheme: "http", Host: proxy.addr()}, nil, "127.0.0.1:1")
			require.Error(t, err)
			assert.Nil(t, conn)
			var se *StatusError
			if tt.code == 0 {
				assert.False(t, errors.As(err, &se), "%v", err)
				return
			}
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.code, se.Code)
			assert.True(t, se.Proxy)
			assert.Equal(t, 1, obs.stats().Dialed)
		})
	}
}

func TestStatusErrorText(t *testing.T) {
	tests := []struct {
		err  StatusError
		want string
	}{
		{StatusError{Code: 401, Status: "401 Unauthorized"},
			"the OpAMP server answered 401 Unauthorized (check the headers or auth extension)"},
		{StatusError{Code: 407, Status: "407 Proxy Authentication Required", Proxy: true},
			"the proxy answered 407 Proxy Authentication Required"},
		{StatusError{Code: 503, Status: "503 Service Unavailable", RetryAfter: 2 * time.Second},
			"the OpAMP server answered 503 Service Unavailable (retry after 2s)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
	se := statusError(&http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"4"}}})
	assert.Equal(t, "429 Too Many Requests", se.Status, "status text filled in")
	assert.Equal(t, 4*time.Second, se.RetryAfter)
}

func TestDecodeWS(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		ok      bool
		wantErr error // when not ok and the header is at fault
	}{
		{"empty message", []byte{0}, true, nil},
		{"no header", nil, false, errHeader},
		{"unsupported header", []byte{1}, false, errHeader},
		{"not a protobuf", []byte{0, 0xff, 0xff}, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := decodeWS(tt.data)
			if tt.ok {
				require.NoError(t, err)
				assert.NotNil(t, msg)
				return
			}
			require.Error(t, err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NotErrorIs(t, err, errHeader)
			}
		})
	}
}
