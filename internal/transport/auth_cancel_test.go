package transport

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// stuckAuth hangs every request until released; with ignoresContext it does
// not even watch the request's context.
type stuckAuth struct {
	ignoresContext bool
	release        chan struct{}
	calls          atomic.Int64
}

func (s *stuckAuth) authenticator() extensionauth.HTTPClient {
	return extensionauth.ClientRoundTripperFunc(func(base http.RoundTripper) (http.RoundTripper, error) {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			s.calls.Add(1)
			if s.ignoresContext {
				<-s.release
			} else {
				select {
				case <-s.release:
				case <-req.Context().Done():
					return nil, req.Context().Err()
				}
			}
			req = req.Clone(req.Context())
			req.Header.Set("Authorization", "Bearer late")
			return base.RoundTrip(req)
		}), nil
	})
}

// TestAuthHeaderFuncReturnsWhenCallerGivesUp: a hung authenticator, heeding
// its context or not, holds the call no longer than the caller's context;
// the input comes back unchanged and nothing is logged (the caller is
// abandoning the attempt). An authenticator still stuck in an earlier call
// is not called again: the next call fails at once, with a warning.
func TestAuthHeaderFuncReturnsWhenCallerGivesUp(t *testing.T) {
	for _, ignores := range []bool{false, true} {
		t.Run(map[bool]string{false: "heeds context", true: "ignores context"}[ignores], func(t *testing.T) {
			sa := &stuckAuth{ignoresContext: ignores, release: make(chan struct{})}
			core, logs := observer.New(zapcore.DebugLevel)
			const endpoint = "http://127.0.0.1:4320/v1/opamp"
			fn, err := NewAuthHeaderFunc(sa.authenticator(), zap.New(core))
			require.NoError(t, err)
			in := http.Header{"X-Static": {"v"}}

			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			assert.Equal(t, in, fn(ctx, endpoint, in))
			assert.Less(t, time.Since(start), time.Second)
			assert.Zero(t, logs.Len(), "a call cut short by its caller logs nothing")

			if !ignores {
				// Nothing was left behind: a later call runs it again (once
				// its cancelled run has returned, which it does at once).
				require.Eventually(t, func() bool {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
					defer cancel()
					assert.Equal(t, in, fn(ctx, endpoint, in))
					return sa.calls.Load() >= 2
				}, 5*time.Second, time.Millisecond)
				close(sa.release)
				// The last of those runs may still be returning (abandoned
				// until it does, so calls fail at once): the next ones
				// use the authenticator again.
				require.Eventually(t, func() bool {
					return fn(context.Background(), endpoint, in).Get("Authorization") == "Bearer late"
				}, 5*time.Second, time.Millisecond)
				return
			}
			assert.Equal(t, in, fn(context.Background(), endpoint, in))
			assert.Equal(t, int64(1), sa.calls.Load(), "not called again while stuck")
			require.Equal(t, 1, logs.FilterLevelExact(zapcore.WarnLevel).Len())
			close(sa.release)
			// Once the stuck call returns, the authenticator is used again.
			require.Eventually(t, func() bool {
				return fn(context.Background(), endpoint, in).Get("Authorization") == "Bearer late"
			}, 5*time.Second, 10*time.Millisecond)
		})
	}
}
