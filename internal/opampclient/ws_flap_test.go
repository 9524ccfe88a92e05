package opampclient

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWSDroppedAtOnceBacksOff: a server that completes every handshake and
// closes the connection at once gets redials with growing backoff, not a
// redial loop, even with no reconnect spread.
func TestWSDroppedAtOnceBacksOff(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var upgrades []time.Time
	upgrader := websocket.Upgrader{}
	var handlers sync.WaitGroup
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		upgrades = append(upgrades, time.Now())
		mu.Unlock()
		_ = conn.Close()
	}))
	t.Cleanup(func() {
		hs.Close()
		handlers.Wait()
	})

	h := newHarness(wsURL(hs.Listener.Addr().String()))
	h.ReconnectSpread = 0
	h.start(t)
	time.Sleep(2500 * time.Millisecond)
	mu.Lock()
	got := append([]time.Time(nil), upgrades...)
	mu.Unlock()
	require.GreaterOrEqual(t, len(got), 2, "the client should keep redialling")
	// Backoff after the 1st, 2nd... drop: at least 0.5 s, 1 s, 2 s.
	assert.LessOrEqual(t, len(got), 4, "redialled %d times in 2.5 s", len(got))
	assert.GreaterOrEqual(t, got[1].Sub(got[0]), 450*time.Millisecond)
}
