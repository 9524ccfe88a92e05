package opampclient

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWSDroppedAtOnceBacksOff: a server that completes every handshake and
// closes the connection at once gets redials with growing backoff, not a
// redial loop, even with no reconnect spread.
func TestWSDroppedAtOnceBacksOff(t *testing.T) {
	t.Parallel()
	upgrades, url := startUpgradeServer(t, false)
	h := newHarness(url)
	h.ReconnectSpread = 0
	h.start(t)
	time.Sleep(2500 * time.Millisecond)
	got := upgrades.times()
	require.GreaterOrEqual(t, len(got), 2, "the client should keep redialling")
	// Backoff after the 1st, 2nd... drop: at least 0.5 s, 1 s, 2 s.
	assert.LessOrEqual(t, len(got), 4, "redialled %d times in 2.5 s", len(got))
	assert.GreaterOrEqual(t, got[1].Sub(got[0]), 450*time.Millisecond)
}
