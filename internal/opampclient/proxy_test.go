package opampclient

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// TestWSThroughProxy: the client reaches the server through an HTTP
// CONNECT proxy, sends the configured headers (and the URL's credentials)
// in the CONNECT request, and meters the proxy's traffic too.
func TestWSThroughProxy(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:pa ss"))
	tests := []struct {
		name     string
		userinfo string
		header   http.Header
		want     map[string]string
	}{
		{"no headers", "", nil, map[string]string{"X-Proxy-Token": ""}},
		{"headers", "", http.Header{"X-Proxy-Token": {"secret"}}, map[string]string{"X-Proxy-Token": "secret"}},
		{"headers and credentials", "user:pa%20ss@", http.Header{"X-Proxy-Token": {"secret"}},
			map[string]string{"X-Proxy-Token": "secret", "Proxy-Authorization": basic}},
		{"explicit authorization wins", "user:pa%20ss@",
			http.Header{"Proxy-Authorization": {"Bearer b"}},
			map[string]string{"Proxy-Authorization": "Bearer b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.Start(t)
			proxy := startConnectProxy(t)
			h := newHarness(srv.WSURL())
			h.ProxyURL = "http://" + tt.userinfo + proxy.addr()
			h.ProxyHeader = tt.header
			h.start(t)
			srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.CustomCapabilities != nil })

			connects := proxy.connectHeaders()
			require.Len(t, connects, 1)
			for k, v := range tt.want {
				assert.Equal(t, v, connects[0].Get(k), k)
			}
			assert.Empty(t, srv.RequestHeaders()[0].Get("X-Proxy-Token"), "proxy headers stay with the proxy")
			require.Eventually(t, func() bool {
				s := h.obs.stats()
				return s.BytesSent == int(proxy.fromClient.Load()) && s.BytesReceived == int(proxy.toClient.Load())
			}, waitFor, tick, "observer %+v, proxy %d/%d", h.obs.stats(), proxy.fromClient.Load(), proxy.toClient.Load())
			assert.Equal(t, 1, h.obs.stats().Dialed)
		})
	}
}
