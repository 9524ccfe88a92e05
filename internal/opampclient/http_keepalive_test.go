package opampclient

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// frontServer is a reverse proxy in front of an OpAMP server that can close
// the client's kept-alive connection once, while it is idle after at least
// two requests: a load balancer failing over to another backend.
type frontServer struct {
	url    string
	closed atomic.Bool
}

func startFront(t *testing.T, backend string, closeOnce bool) *frontServer {
	target, err := url.Parse(backend)
	require.NoError(t, err)
	f := &frontServer{}
	tr := &http.Transport{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	var mu sync.Mutex
	requests := map[net.Conn]int{}
	hs := httptest.NewUnstartedServer(rp)
	hs.Config.ConnState = func(c net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateActive:
			requests[c]++
		case http.StateIdle:
			if closeOnce && requests[c] >= 2 && f.closed.CompareAndSwap(false, true) {
				_ = c.Close()
			}
		case http.StateClosed, http.StateHijacked:
			delete(requests, c)
		default:
		}
	}
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		tr.CloseIdleConnections()
	})
	f.url = hs.URL + testserver.Path
	return f
}

// TestHTTPKeepAliveReplaced: when the kept-alive connection is replaced by
// a new one, the client sends its full state again (the new connection may
// reach a server that never heard of it); an unchanged connection does not.
func TestHTTPKeepAliveReplaced(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		close    bool
		wantFull int
		dialed   int
	}{
		{"connection replaced", true, 2, 2},
		{"connection kept", false, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := testserver.Start(t)
			front := startFront(t, "http://"+srv.Addr(), tt.close)
			h, _ := startHTTP(t, srv, front.url, nil)
			// Ten polls: enough for the close, the new connection and the
			// full state it triggers.
			a := srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.MessageCount >= 10 })
			assert.Equal(t, tt.close, front.closed.Load())
			assert.Equal(t, tt.wantFull, withDescription(a.Messages))
			s := h.obs.stats()
			assert.Equal(t, tt.dialed, s.Dialed)
			assert.Zero(t, s.Failed, "the replacement is not a failure")
			assert.Equal(t, 1, s.Connected)
		})
	}
}
