package opampclient

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// spreadReconnects wraps the header function, which opamp-go's WebSocket
// transport calls right before each dial: the first dial after a lost
// connection first waits a random time up to ReconnectSpread. opamp-go
// itself retries at once, so every agent of a restarted server would
// reconnect in the same instant. The wait ends early when the client stops.
func (c *Client) spreadReconnects(next func(http.Header) http.Header) func(http.Header) http.Header {
	return func(h http.Header) http.Header {
		if c.reconnecting.Swap(false) {
			wait := rand.N(c.settings.ReconnectSpread) //nolint:gosec // jitter, not security
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-c.stopping:
				t.Stop()
			}
		}
		if next != nil {
			return next(h)
		}
		return h
	}
}
