package opampclient

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Backoff after failed attempts: 1 s, 2 s, 4 s... up to 30 s, each drawn
// at random from the upper half ("equal jitter") so that agents which
// failed together do not retry together.
const (
	backoffBase = time.Second
	backoffMax  = 30 * time.Second
)

// backoff returns the wait before attempt number n+1 after n consecutive
// failures (n >= 1).
func backoff(n int) time.Duration {
	d := backoffMax
	if n < 6 {
		d = min(backoffBase<<(n-1), backoffMax)
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter, not security
}

// spread is the wait before the first redial after a lost connection: a
// random time up to s, so a fleet whose server restarts comes back spread
// over s rather than in the same second.
func spread(s time.Duration) time.Duration {
	if s <= 0 {
		return 0
	}
	return rand.N(s) //nolint:gosec // jitter, not security
}

// gate holds attempts: for a computed wait, and until a time the server
// asked for (retry_after, Retry-After). Every wait ends when stop closes.
type gate struct {
	holdUntil atomic.Int64 // unix nanoseconds
	stop      <-chan struct{}
	// kick ends a wait early (and the hold with it): a switch to another
	// connection (TryConnection) is waiting. Nil never kicks.
	kick <-chan struct{}
}

// hold delays every attempt for d from now (never shortening a hold).
func (g *gate) hold(d time.Duration) {
	until := time.Now().Add(min(d, maxRetryAfter)).UnixNano()
	for {
		cur := g.holdUntil.Load()
		if cur >= until || g.holdUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// wait sleeps for d or until the hold ends, whichever is later; it
// returns false when the client stops meanwhile.
func (g *gate) wait(d time.Duration) bool {
	if hold := time.Until(time.Unix(0, g.holdUntil.Load())); hold > d {
		d = hold
	}
	if d <= 0 {
		select {
		case <-g.stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-g.kick:
		return true
	case <-g.stop:
		return false
	}
}

// retryAfter reads a 429/503 answer's Retry-After header, in seconds or
// as an HTTP date; zero when absent, unreadable or not such an answer.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return min(time.Duration(secs)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), maxRetryAfter)
	}
	return 0
}
