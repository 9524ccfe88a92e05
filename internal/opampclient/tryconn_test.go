package opampclient

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testcerts"
	"github.com/opampext/opampextension/internal/testserver"
)

// transports runs a test on WebSocket and on HTTP polling.
var transports = []testserver.Transport{testserver.TransportWebSocket, testserver.TransportHTTP}

// startOn starts a harness client on srv over tr (fast polls on HTTP).
func startOn(t *testing.T, srv *testserver.Server, tr testserver.Transport, configure func(h *harness)) (*harness, *Client) {
	t.Helper()
	h := newHarness(srv.WSURL())
	h.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsConnectionSettingsStatus
	if tr == testserver.TransportHTTP {
		h.URL, h.HTTP, h.PollingInterval = srv.HTTPURL(), true, 100*time.Millisecond
	}
	if configure != nil {
		configure(h)
	}
	c := h.start(t)
	srv.WaitAgent(t, waitFor, func(a *testserver.AgentState) bool { return a.CustomCapabilities != nil })
	return h, c
}

func urlOf(srv *testserver.Server, tr testserver.Transport) string {
	if tr == testserver.TransportHTTP {
		return srv.HTTPURL()
	}
	return srv.WSURL()
}

func tryWithin(t *testing.T, c *Client, cand Connection, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return c.TryConnection(ctx, cand)
}

// TestTryConnectionMoves: an offered server that works takes the agent,
// full state included; the old one sees the connection go without a
// goodbye, and later changes go to the new one only.
func TestTryConnectionMoves(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			t.Parallel()
			a, b := testserver.Start(t), testserver.Start(t)
			h, c := startOn(t, a, tr, nil)
			require.NoError(t, c.SetConnectionSettingsStatus(&protobufs.ConnectionSettingsStatus{
				LastConnectionSettingsHash: []byte("h1"), Status: protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLYING,
			}))
			require.NoError(t, tryWithin(t, c, Connection{URL: urlOf(b, tr)}, 5*time.Second))
			assert.Equal(t, urlOf(b, tr), c.Connection().URL)

			got := b.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool {
				return s.Description != nil && s.Health != nil && s.ConnectionSettingsStatus != nil
			})
			assert.Equal(t, "h1", string(got.ConnectionSettingsStatus.GetLastConnectionSettingsHash()), "the full state reaches the new server")
			if tr == testserver.TransportWebSocket {
				a.WaitFor(t, waitFor, func(s *testserver.Server) bool { return s.Connections() == 0 })
				b.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.Connected })
			}
			assert.False(t, a.Agent(h.uid()).Disconnected, "moving is not leaving: no AgentDisconnect to the old server")

			// A poll already on its way to the old server may still arrive.
			time.Sleep(3 * h.PollingInterval)
			before := a.Agent(h.uid()).MessageCount
			require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: false, Status: "moved"}))
			b.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.Health.GetStatus() == "moved" })
			time.Sleep(3 * h.PollingInterval)
			assert.Equal(t, before, a.Agent(h.uid()).MessageCount, "nothing more goes to the old server")
			wantConnects := 1 // HTTP: polls went on succeeding
			if tr == testserver.TransportWebSocket {
				wantConnects = 2 // the handed-over connection
			}
			assert.Equal(t, wantConnects, h.handled.connects())
		})
	}
}

// TestTryConnectionFailureKeepsCurrent: an offer that cannot work (no
// server, a refusal, a wrong CA, a server that never answers) leaves the
// agent where it was, still connected and still reporting.
func TestTryConnectionFailureKeepsCurrent(t *testing.T) {
	t.Parallel()
	certs := testcerts.New(t)
	tlsSrv := testserver.Start(t, testserver.WithTLS(certs.ServerTLSConfig(false)))
	refusing := testserver.Start(t, testserver.WithOnConnecting(func(*http.Request) (bool, int) { return false, http.StatusUnauthorized }))
	silent := silentListener(t)
	dead := deadAddr(t)
	other := testcerts.New(t)
	for _, tr := range transports {
		cases := []struct {
			name string
			cand Connection
			want error
		}{
			{"no server", Connection{URL: schemeFor(tr, false) + dead + testserver.Path}, nil},
			{"refused", Connection{URL: urlOf(refusing, tr)}, nil},
			{"wrong CA", Connection{URL: urlOf(tlsSrv, tr), TLS: &tls.Config{RootCAs: other.CAPool(), MinVersion: tls.VersionTLS12}}, nil},
			{"never answers", Connection{URL: schemeFor(tr, false) + silent + testserver.Path}, nil},
			{"other transport", Connection{URL: schemeFor(otherTransport(tr), false) + dead + testserver.Path}, ErrTransportChange},
			{"not a URL", Connection{URL: "opamp.example.com"}, ErrEndpoint},
		}
		for _, tc := range cases {
			t.Run(string(tr)+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				a := testserver.Start(t)
				h, c := startOn(t, a, tr, nil)
				start := time.Now()
				err := tryWithin(t, c, tc.cand, time.Second)
				require.Error(t, err)
				if tc.want != nil {
					assert.ErrorIs(t, err, tc.want)
				}
				assert.Less(t, time.Since(start), 3*time.Second, "the try is bounded by its context")
				assert.Equal(t, urlOf(a, tr), c.Connection().URL)
				require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: false, Status: "still here"}))
				a.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.Health.GetStatus() == "still here" })
				assert.True(t, c.Connected())
				assert.Equal(t, 1, h.handled.connects(), "the current connection was never dropped")
			})
		}
	}
}

// TestTryConnectionTLSAndHeaders: an offer's TLS settings and headers are
// what the new connection uses.
func TestTryConnectionTLSAndHeaders(t *testing.T) {
	t.Parallel()
	certs := testcerts.New(t)
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			t.Parallel()
			a := testserver.Start(t)
			b := testserver.Start(t, testserver.WithTLS(certs.ServerTLSConfig(true)),
				testserver.WithOnConnecting(func(r *http.Request) (bool, int) {
					if r.Header.Get("X-Token") != "new" {
						return false, http.StatusForbidden
					}
					return true, 0
				}))
			_, c := startOn(t, a, tr, nil)
			tlsCfg := &tls.Config{RootCAs: certs.CAPool(), MinVersion: tls.VersionTLS12}
			cand := Connection{URL: urlOf(b, tr), TLS: tlsCfg, Header: http.Header{"X-Token": {"old"}}}
			require.Error(t, tryWithin(t, c, cand, 3*time.Second), "no client certificate and the wrong token")
			cert, err := tls.LoadX509KeyPair(certs.ClientCertFile, certs.ClientKeyFile)
			require.NoError(t, err)
			withCert := tlsCfg.Clone()
			withCert.Certificates = []tls.Certificate{cert}
			cand.TLS = withCert
			require.Error(t, tryWithin(t, c, cand, 3*time.Second), "the wrong token")
			cand.Header = http.Header{"X-Token": {"new"}}
			require.NoError(t, tryWithin(t, c, cand, 3*time.Second))
			b.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.Description != nil })
			require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: true, Status: "over TLS"}))
			b.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.Health.GetStatus() == "over TLS" })
		})
	}
}

// TestSwitchedServerThatDiesFallsBack: a server that passed the probe and
// went away before any connection to it lasted sends the agent back to
// the connection it came from, and the handler hears of it.
func TestSwitchedServerThatDiesFallsBack(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			t.Parallel()
			a := testserver.Start(t)
			reverted := make(chan Connection, 1)
			_, c := startOn(t, a, tr, func(h *harness) {
				h.Handler.OnConnectionReverted = func(_, to Connection) { reverted <- to }
			})
			t.Run("switch to a short-lived server", func(t *testing.T) {
				b := testserver.Start(t) // stopped when this subtest ends
				require.NoError(t, tryWithin(t, c, Connection{URL: urlOf(b, tr)}, 3*time.Second))
			})
			select {
			case to := <-reverted:
				assert.Equal(t, urlOf(a, tr), to.URL)
			case <-time.After(20 * time.Second):
				t.Fatal("the agent did not go back to the server it came from")
			}
			require.NoError(t, c.SetHealth(&protobufs.ComponentHealth{Healthy: false, Status: "back"}))
			a.WaitAgent(t, 20*time.Second, func(s *testserver.AgentState) bool { return s.Health.GetStatus() == "back" })
			assert.Equal(t, urlOf(a, tr), c.Connection().URL)
		})
	}
}

// TestStartFallback: kept settings that no longer work (a server offered
// before a restart, gone since) give way to the fallback.
func TestStartFallback(t *testing.T) {
	t.Parallel()
	a := testserver.Start(t)
	h := newHarness("ws://" + deadAddr(t) + testserver.Path)
	h.Fallback = &Connection{URL: a.WSURL()}
	h.start(t)
	a.WaitAgent(t, 20*time.Second, func(s *testserver.AgentState) bool { return s.Description != nil })
}

// TestStopDuringTry: Stop ends a try against a server that never answers.
func TestStopDuringTry(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(string(tr), func(t *testing.T) {
			t.Parallel()
			a := testserver.Start(t)
			h := newHarness(a.WSURL())
			if tr == testserver.TransportHTTP {
				h.URL, h.HTTP = a.HTTPURL(), true
			}
			c, err := Start(context.Background(), h.Settings)
			require.NoError(t, err)
			a.WaitAgent(t, waitFor, func(s *testserver.AgentState) bool { return s.Description != nil })
			var wg sync.WaitGroup
			var tryErr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				tryErr = c.TryConnection(context.Background(), Connection{URL: schemeFor(tr, false) + silentListener(t) + testserver.Path})
			}()
			time.Sleep(200 * time.Millisecond)
			stopWithin(t, c, 4*time.Second)
			wg.Wait()
			require.Error(t, tryErr)
			assert.False(t, errors.Is(tryErr, ErrTransportChange))
		})
	}
}

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func schemeFor(tr testserver.Transport, secure bool) string {
	switch {
	case tr == testserver.TransportHTTP && secure:
		return "https://"
	case tr == testserver.TransportHTTP:
		return "http://"
	case secure:
		return "wss://"
	}
	return "ws://"
}

func otherTransport(tr testserver.Transport) testserver.Transport {
	if tr == testserver.TransportHTTP {
		return testserver.TransportWebSocket
	}
	return testserver.TransportHTTP
}

// TestStatusRightAfterSwitch: a status set the moment TryConnection
// returns reaches the new server at once, heartbeats off (it may have
// woken the old connection's sender, whose write failed on the closing
// socket).
func TestStatusRightAfterSwitch(t *testing.T) {
	t.Parallel()
	a := testserver.Start(t)
	servers := []*testserver.Server{testserver.Start(t), a}
	_, c := startOn(t, a, testserver.TransportWebSocket, nil)
	for i := range 12 {
		to := servers[i%2]
		require.NoError(t, tryWithin(t, c, Connection{URL: to.WSURL()}, 3*time.Second))
		hash := []byte{byte(i)}
		require.NoError(t, c.SetConnectionSettingsStatus(&protobufs.ConnectionSettingsStatus{
			LastConnectionSettingsHash: hash, Status: protobufs.ConnectionSettingsStatuses_ConnectionSettingsStatuses_APPLIED,
		}))
		to.WaitAgent(t, 2*time.Second, func(s *testserver.AgentState) bool {
			return string(s.ConnectionSettingsStatus.GetLastConnectionSettingsHash()) == string(hash)
		})
	}
}
