package opampclient

import (
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"go.uber.org/zap"
)

// maxRetryAfter bounds how long a server's retry_after may hold the agent.
const maxRetryAfter = time.Hour

// gateDials wraps the header function, which opamp-go calls right before
// each WebSocket dial and each HTTP request, to hold that dial or request:
//   - after a lost WebSocket connection, every redial waits a random time
//     up to ReconnectSpread before opamp-go's own backoff (which starts at
//     once, then 0.5 s, 0.75 s...): a fleet whose server restarts comes back
//     spread over that time, about two attempts per agent per spread, not
//     in the same instant and not in synchronised retry waves;
//   - after an UNAVAILABLE error response with retry_after (which opamp-go
//     ignores), nothing is sent before that time.
//
// The wait ends early when the client stops.
func (c *Client) gateDials(next func(http.Header) http.Header) func(http.Header) http.Header {
	return func(h http.Header) http.Header {
		c.state.beforeAttempt()
		var wait time.Duration
		if !c.settings.HTTP && c.settings.ReconnectSpread > 0 && c.connectedOnce.Load() {
			wait = rand.N(c.settings.ReconnectSpread) //nolint:gosec // jitter, not security
		}
		if hold := time.Until(time.Unix(0, c.holdUntil.Load())); hold > wait {
			wait = hold
		}
		if wait > 0 {
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

// onServerError logs an error response and honours UNAVAILABLE's retry_after.
func (c *Client) onServerError(er *protobufs.ServerErrorResponse) {
	retry := time.Duration(er.GetRetryInfo().GetRetryAfterNanoseconds())
	if er.GetType() == protobufs.ServerErrorResponseType_ServerErrorResponseType_Unavailable && retry > 0 {
		retry = min(retry, maxRetryAfter)
		c.holdUntil.Store(time.Now().Add(retry).UnixNano())
		c.logger.Info("The OpAMP server is unavailable; holding off as it asked",
			zap.Duration("retry_after", retry), zap.String("message", er.GetErrorMessage()))
		return
	}
	c.logger.Warn("The OpAMP server answered with an error",
		zap.String("type", er.GetType().String()), zap.String("message", er.GetErrorMessage()))
}
