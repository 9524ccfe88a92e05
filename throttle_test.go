package opampextension

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"

	"github.com/opampext/opampextension/internal/testserver"
)

// retryTolerance absorbs timer granularity when comparing attempt gaps
// with the delay the server asked for.
const retryTolerance = 100 * time.Millisecond

// throttlingFront stands before a test server and answers the first
// `refuse` requests (WebSocket upgrades or HTTP polls) with 503 and a
// Retry-After header, then proxies everything, upgrades included. The test
// server's ConnectingFunc cannot set response headers, hence this front.
type throttlingFront struct {
	refuse     int
	retryAfter string
	proxy      *httputil.ReverseProxy
	url        string // http://host:port of the front

	mu       sync.Mutex
	attempts []time.Time
}

func startThrottlingFront(t *testing.T, backend string, refuse int, retryAfter string) *throttlingFront {
	t.Helper()
	target, err := url.Parse("http://" + backend)
	require.NoError(t, err)
	f := &throttlingFront{refuse: refuse, retryAfter: retryAfter, proxy: httputil.NewSingleHostReverseProxy(target)}
	// No idle connections: they would outlive the test (goleak).
	f.proxy.Transport = &http.Transport{DisableKeepAlives: true}
	front := httptest.NewServer(f)
	t.Cleanup(front.Close)
	f.url = front.URL
	return f
}

// attemptTimes returns when each request arrived, in order.
func (f *throttlingFront) attemptTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.attempts...)
}

func (f *throttlingFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.attempts = append(f.attempts, time.Now())
	n := len(f.attempts)
	f.mu.Unlock()
	if n <= f.refuse {
		w.Header().Set("Retry-After", f.retryAfter)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	f.proxy.ServeHTTP(w, r)
}

// TestRetryAfterHonoured: 503 with Retry-After delays the next attempt by
// at least that much, on the WebSocket upgrade and on HTTP polls alike.
func TestRetryAfterHonoured(t *testing.T) {
	const refused, delay = 2, 2 * time.Second
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			srv := testserver.Start(t)
			front := startThrottlingFront(t, srv.Addr(), refused, "2")
			endpoint := strings.Replace(front.url, "http://", tr+"://", 1) + testserver.Path
			cfg := wsConfig(endpoint)
			if tr == "http" {
				cfg = httpConfig(endpoint)
			}
			agent, logs := newObservedAgent(t, cfg, zapcore.InfoLevel)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)

			uid := agentUID(agent).String()
			srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool { return a.UID == uid && a.Description != nil })
			at := front.attemptTimes()
			require.Greater(t, len(at), refused)
			for i := 1; i <= refused; i++ {
				gap := at[i].Sub(at[i-1])
				assert.GreaterOrEqual(t, gap, delay-retryTolerance, "attempt %d came %v after a 503 asking for %v", i+1, gap, delay)
			}
			warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
			assert.LessOrEqual(t, len(warns), 1, "throttling should warn at most once: %v", entryTexts(warns))
		})
	}
}

// TestUnauthorizedNoTightLoop: a server that keeps answering 401 is not
// hammered, and the operator sees one warning that says why.
func TestUnauthorizedNoTightLoop(t *testing.T) {
	const window, maxAttempts = 3 * time.Second, 8
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			srv := testserver.Start(t, testserver.WithOnConnecting(func(*http.Request) (bool, int) {
				return false, http.StatusUnauthorized
			}))
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
				cfg.Server.HTTP.PollingInterval = time.Second
			}
			agent, logs := newObservedAgent(t, cfg, zapcore.InfoLevel)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			time.Sleep(window)
			n := len(srv.RequestHeaders())
			shutdown(t, agent)

			assert.GreaterOrEqual(t, n, 2, "the agent should keep trying")
			assert.Less(t, n, maxAttempts, "%d attempts in %v after 401", n, window)
			warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
			if assert.Len(t, warns, 1, "want one warning for the refusals: %v", entryTexts(logs.All())) {
				assert.Contains(t, entryText(warns[0]), "401", "the warning should say the server refused with 401")
			}
			assert.Empty(t, logs.FilterLevelExact(zapcore.ErrorLevel).All())
		})
	}
}

// TestUnauthorizedThenAccepted: after a few 401s the agent's full state
// still reaches the server once it accepts.
func TestUnauthorizedThenAccepted(t *testing.T) {
	for _, tr := range []string{"ws", "http"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			refusals := 2
			srv := testserver.Start(t, testserver.WithOnConnecting(func(*http.Request) (bool, int) {
				mu.Lock()
				defer mu.Unlock()
				if refusals > 0 {
					refusals--
					return false, http.StatusUnauthorized
				}
				return true, 0
			}))
			cfg := wsConfig(srv.WSURL())
			if tr == "http" {
				cfg = httpConfig(srv.HTTPURL())
			}
			agent := newAgent(t, cfg)
			require.NoError(t, agent.Start(context.Background(), newTestHost()))
			defer shutdown(t, agent)
			uid := agentUID(agent).String()
			srv.WaitAgent(t, waitTime, func(a *testserver.AgentState) bool {
				return a.UID == uid && a.Description != nil && a.Health != nil && a.Capabilities != 0
			})
		})
	}
}
