package opampclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/open-telemetry/opamp-go/server"
	servertypes "github.com/open-telemetry/opamp-go/server/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/opampext/opampextension/internal/testserver"
)

// heartbeatTimes lists when the client sent heartbeats.
func heartbeatTimes(s obsStats) []time.Time {
	var out []time.Time
	for i, k := range s.Sent {
		if k == KindHeartbeat {
			out = append(out, s.SentAt[i])
		}
	}
	return out
}

// assertGaps checks that consecutive times are at least minGap apart.
func assertGaps(t *testing.T, times []time.Time, minGap time.Duration) {
	t.Helper()
	for i := 1; i < len(times); i++ {
		assert.GreaterOrEqual(t, times[i].Sub(times[i-1]), minGap, "gap %d", i)
	}
}

const heartbeatCap = protobufs.AgentCapabilities_AgentCapabilities_ReportsHeartbeat

// TestWSHeartbeat: a heartbeat follows Settings.Heartbeat of silence; zero
// sends none.
func TestWSHeartbeat(t *testing.T) {
	t.Parallel()
	const every = 150 * time.Millisecond
	for _, hb := range []time.Duration{every, 0} {
		t.Run(hb.String(), func(t *testing.T) {
			t.Parallel()
			_, _, h, _ := startWS(t, func(h *harness) { h.Heartbeat = hb })
			if hb == 0 {
				time.Sleep(5 * every)
				assert.Empty(t, heartbeatTimes(h.obs.stats()))
				return
			}
			require.Eventually(t, func() bool { return len(heartbeatTimes(h.obs.stats())) >= 4 }, waitFor, tick)
			times := heartbeatTimes(h.obs.stats())
			assertGaps(t, times, every-10*time.Millisecond)
			assert.Less(t, times[3].Sub(times[0]), 3*every+time.Second, "heartbeats far slower than asked")
		})
	}
}

// TestWSHeartbeatOffer: the server's heartbeat_interval_seconds replaces the
// configured interval when the agent reports heartbeats, and is ignored
// otherwise.
func TestWSHeartbeatOffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		caps protobufs.AgentCapabilities
		want bool
	}{
		{"reports heartbeat", heartbeatCap, true},
		{"capability off", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _, h, _ := startWS(t, func(h *harness) { h.Capabilities |= tt.caps })
			require.NoError(t, srv.Send(h.uid(), &protobufs.ServerToAgent{ConnectionSettings: &protobufs.ConnectionSettingsOffers{
				Opamp: &protobufs.OpAMPConnectionSettings{HeartbeatIntervalSeconds: 1},
			}}))
			if !tt.want {
				time.Sleep(1500 * time.Millisecond)
				assert.Empty(t, heartbeatTimes(h.obs.stats()))
				return
			}
			require.Eventually(t, func() bool { return len(heartbeatTimes(h.obs.stats())) >= 2 }, waitFor, tick)
			assertGaps(t, heartbeatTimes(h.obs.stats()), 990*time.Millisecond)
		})
	}
}

// startUpgradeServer completes WebSocket handshakes and stamps each; then
// it either holds the connection and never reads (hold: pings go
// unanswered, as with a server that hangs or a path that silently broke)
// or closes it at once.
func startUpgradeServer(t *testing.T, hold bool) (*stamps, string) {
	upgrades := &stamps{}
	quit := make(chan struct{})
	var handlers sync.WaitGroup
	upgrader := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }()
		upgrades.add()
		if hold {
			<-quit
		}
	}))
	t.Cleanup(func() {
		close(quit)
		hs.Close()
		handlers.Wait()
	})
	return upgrades, wsURL(hs.Listener.Addr().String())
}

// TestWSKeepAlive: with the keep-alive shortened to 100 ms + 100 ms, a
// server that answers pings keeps the connection, and one that stops
// answering is dropped and redialled within that time.
func TestWSKeepAlive(t *testing.T) {
	t.Parallel()
	const idle, wait = 100 * time.Millisecond, 100 * time.Millisecond
	shorten := func(h *harness) { h.KeepAliveIdle, h.PongWait = idle, wait }

	t.Run("server answers", func(t *testing.T) {
		t.Parallel()
		_, _, h, _ := startWS(t, shorten)
		before := h.obs.stats()
		time.Sleep(10 * idle)
		after := h.obs.stats()
		assert.Equal(t, len(before.Sent), len(after.Sent), "no message was sent meanwhile")
		assert.GreaterOrEqual(t, after.BytesSent-before.BytesSent, 3*6, "pings were sent")
		assert.Equal(t, 1, after.Dialed)
		assert.Zero(t, after.Disconnected)
	})
	t.Run("server stops answering", func(t *testing.T) {
		t.Parallel()
		deaf, url := startUpgradeServer(t, true)
		h := newHarness(url)
		shorten(h)
		h.start(t)
		require.Eventually(t, func() bool { return len(deaf.times()) >= 2 }, waitFor, tick)
		up := deaf.times()
		gap := up[1].Sub(up[0])
		assert.GreaterOrEqual(t, gap, idle+wait-20*time.Millisecond)
		assert.Less(t, gap, 3*time.Second)
		lost := h.logs.FilterMessageSnippet("Lost the connection").All()
		require.NotEmpty(t, lost)
		var why error
		for _, f := range lost[0].Context {
			if e, ok := f.Interface.(error); ok {
				why = e
			}
		}
		assert.ErrorIs(t, why, errNoPong)
	})
}

// refusingServer is opamp-go's server refusing the first upgrade with a
// status and Retry-After, and accepting the later ones.
type refusingServer struct {
	attempts stamps
	messages atomic.Int64
	url      string
}

func startRefusingServer(t *testing.T, status int, retryAfter string) *refusingServer {
	rs := &refusingServer{}
	srv := server.New(nil)
	onConnecting := func(*http.Request) servertypes.ConnectionResponse {
		if rs.attempts.add() == 1 {
			return servertypes.ConnectionResponse{HTTPStatusCode: status, HTTPResponseHeader: map[string]string{"Retry-After": retryAfter}}
		}
		return servertypes.ConnectionResponse{Accept: true, ConnectionCallbacks: servertypes.ConnectionCallbacks{
			OnMessage: func(_ context.Context, _ servertypes.Connection, m *protobufs.AgentToServer) *protobufs.ServerToAgent {
				rs.messages.Add(1)
				return &protobufs.ServerToAgent{InstanceUid: m.GetInstanceUid()}
			},
		}}
	}
	require.NoError(t, srv.Start(server.StartSettings{
		ListenEndpoint: "127.0.0.1:0",
		ListenPath:     testserver.Path,
		Settings:       server.Settings{Callbacks: servertypes.Callbacks{OnConnecting: onConnecting}},
	}))
	rs.url = wsURL(srv.Addr().String())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("stop opamp server: %v", err)
		}
	})
	return rs
}

// TestWSRetryAfterHoldsNextAttempt: a refused upgrade's Retry-After (2 s,
// longer than the first backoff of at most 1 s) holds the next attempt.
func TestWSRetryAfterHoldsNextAttempt(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			rs := startRefusingServer(t, status, "2")
			h := newHarness(rs.url)
			h.start(t)
			require.Eventually(t, func() bool { return rs.messages.Load() > 0 }, waitFor, tick)
			at := rs.attempts.times()
			require.Len(t, at, 2)
			assert.GreaterOrEqual(t, at[1].Sub(at[0]), 1900*time.Millisecond)
			assert.Len(t, h.logs.FilterMessageSnippet("Cannot reach the OpAMP server").All(), 1)
		})
	}
}
