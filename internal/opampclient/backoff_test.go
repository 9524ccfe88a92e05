package opampclient

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBackoffBounds: attempt n waits within the upper half of 1 s << (n-1),
// capped at 30 s, and the waits are jittered.
func TestBackoffBounds(t *testing.T) {
	for n := 1; n <= 10; n++ {
		d := min(time.Second<<(n-1), 30*time.Second)
		seen := map[time.Duration]bool{}
		for range 200 {
			got := backoff(n)
			require.GreaterOrEqual(t, got, d/2, "n=%d", n)
			require.LessOrEqual(t, got, d, "n=%d", n)
			seen[got] = true
		}
		assert.Greater(t, len(seen), 1, "n=%d: no jitter", n)
	}
	// A run of failures long enough to overflow a shift stays capped.
	assert.LessOrEqual(t, backoff(100), 30*time.Second)
	assert.GreaterOrEqual(t, backoff(100), 15*time.Second)
}

func TestSpread(t *testing.T) {
	assert.Zero(t, spread(0))
	assert.Zero(t, spread(-time.Second))
	seen := map[time.Duration]bool{}
	for range 200 {
		got := spread(time.Second)
		require.GreaterOrEqual(t, got, time.Duration(0))
		require.Less(t, got, time.Second)
		seen[got] = true
	}
	assert.Greater(t, len(seen), 1, "no jitter")
}

func TestRetryAfter(t *testing.T) {
	future := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name     string
		status   int
		header   string
		min, max time.Duration
	}{
		{"seconds on 429", http.StatusTooManyRequests, "7", 7 * time.Second, 7 * time.Second},
		{"seconds on 503", http.StatusServiceUnavailable, "3", 3 * time.Second, 3 * time.Second},
		// HTTP dates have a one-second resolution.
		{"HTTP date", http.StatusServiceUnavailable, future, 18 * time.Second, 20 * time.Second},
		{"date in the past", http.StatusTooManyRequests, past, 0, 0},
		{"capped", http.StatusTooManyRequests, strconv.Itoa(10 * 3600), maxRetryAfter, maxRetryAfter},
		{"absent", http.StatusTooManyRequests, "", 0, 0},
		{"garbage", http.StatusTooManyRequests, "soon", 0, 0},
		{"negative", http.StatusTooManyRequests, "-5", 0, 0},
		{"not 429 or 503", http.StatusInternalServerError, "7", 0, 0},
		{"success", http.StatusOK, "7", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.header != "" {
				resp.Header.Set("Retry-After", tt.header)
			}
			got := retryAfter(resp)
			assert.GreaterOrEqual(t, got, tt.min)
			assert.LessOrEqual(t, got, tt.max)
		})
	}
	assert.Zero(t, retryAfter(nil))
}

// holdLeft is how long g holds attempts from now.
func holdLeft(g *gate) time.Duration { return time.Until(time.Unix(0, g.holdUntil.Load())) }

func TestGateHoldNeverShortens(t *testing.T) {
	var g gate
	g.hold(time.Minute)
	g.hold(time.Second)
	assert.Greater(t, holdLeft(&g), 50*time.Second, "a shorter hold replaced a longer one")
	g.hold(2 * time.Minute)
	assert.Greater(t, holdLeft(&g), 110*time.Second, "a longer hold was not taken")
	g.hold(10 * time.Hour)
	assert.LessOrEqual(t, holdLeft(&g), maxRetryAfter, "holds are capped")
}

func TestGateWait(t *testing.T) {
	tests := []struct {
		name     string
		hold     time.Duration
		wait     time.Duration
		stopped  bool
		want     bool
		min, max time.Duration
	}{
		{"no wait", 0, 0, false, true, 0, 50 * time.Millisecond},
		{"own wait", 0, 100 * time.Millisecond, false, true, 100 * time.Millisecond, time.Second},
		{"hold longer than the wait", 150 * time.Millisecond, 10 * time.Millisecond, false, true, 140 * time.Millisecond, time.Second},
		{"wait longer than the hold", 10 * time.Millisecond, 150 * time.Millisecond, false, true, 150 * time.Millisecond, time.Second},
		{"stopped, no wait", 0, 0, true, false, 0, 50 * time.Millisecond},
		{"stopped during a hold", time.Hour, 0, true, false, 0, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stop := make(chan struct{})
			g := &gate{stop: stop}
			if tt.hold > 0 {
				g.hold(tt.hold)
			}
			if tt.stopped {
				close(stop)
			}
			start := time.Now()
			assert.Equal(t, tt.want, g.wait(tt.wait))
			took := time.Since(start)
			assert.GreaterOrEqual(t, took, tt.min)
			assert.Less(t, took, tt.max)
		})
	}
}

// TestGateWaitEndsOnStop: a stop while waiting ends the wait at once.
func TestGateWaitEndsOnStop(t *testing.T) {
	stop := make(chan struct{})
	g := &gate{stop: stop}
	g.hold(time.Hour)
	time.AfterFunc(50*time.Millisecond, func() { close(stop) })
	start := time.Now()
	assert.False(t, g.wait(time.Hour))
	assert.Less(t, time.Since(start), 2*time.Second)
}
