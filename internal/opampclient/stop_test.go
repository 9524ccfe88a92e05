package opampclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opamp-go/protobufs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// stopSlack is what a busy two-core machine under -race may add to a stop
// bound.
const stopSlack = time.Second

// stopCase is one way to call Stop: its context, the longest Stop may
// take with it, and whether Stop must report the context's error.
type stopCase struct {
	name    string
	timeout time.Duration // 0: a context without deadline, as core passes
	bound   time.Duration
	wantErr bool
}

// stopCases: without a deadline Stop takes at most stopGrace; with one it
// takes at most that deadline, and never more than stopGrace however
// long the deadline.
var stopCases = []stopCase{
	{name: "no deadline", bound: stopGrace},
	{name: "short deadline", timeout: 700 * time.Millisecond, bound: 700 * time.Millisecond, wantErr: true},
	{name: "long deadline", timeout: time.Minute, bound: stopGrace},
}

// stopTimed stops c as sc says and checks how long it took and what it
// returned.
func stopTimed(t *testing.T, c *Client, sc stopCase) {
	t.Helper()
	ctx := context.Background()
	if sc.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sc.timeout)
		defer cancel()
	}
	start := time.Now()
	err := c.Stop(ctx)
	took := time.Since(start)
	t.Logf("Stop took %s", took.Round(10*time.Millisecond))
	assert.Less(t, took, sc.bound+stopSlack)
	if sc.wantErr {
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	} else {
		assert.NoError(t, err)
	}
}

// TestStopBlockedWrite: the first message (a 12 MB effective config) is
// larger than the socket buffers of a server that upgraded and never
// reads, so the write blocks. Stop cuts the connection when its bound
// passes instead of waiting out writeTimeout.
func TestStopBlockedWrite(t *testing.T) {
	t.Parallel()
	big := &protobufs.EffectiveConfig{ConfigMap: &protobufs.AgentConfigMap{ConfigMap: map[string]*protobufs.AgentConfigFile{
		"": {Body: []byte(strings.Repeat("x", 12<<20)), ContentType: "text/yaml"},
	}}}
	for _, sc := range stopCases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			deaf, url := startUpgradeServer(t, true)
			h := newHarness(url)
			h.Capabilities |= protobufs.AgentCapabilities_AgentCapabilities_ReportsEffectiveConfig
			h.Handler.GetEffectiveConfig = func(context.Context) (*protobufs.EffectiveConfig, error) { return big, nil }
			c := h.start(t)
			require.Eventually(t, func() bool { return len(deaf.times()) == 1 }, waitFor, tick)
			time.Sleep(500 * time.Millisecond) // the write fills the buffers and blocks
			stopTimed(t, c, sc)
		})
	}
}

// TestStopHeaderFuncHangs: a HeaderFunc that hangs until its context ends
// (an authenticator on a dead token endpoint) gets a context that Stop
// ends, on both transports.
func TestStopHeaderFuncHangs(t *testing.T) {
	t.Parallel()
	for _, useHTTP := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "http"}[useHTTP], func(t *testing.T) {
			t.Parallel()
			silent := startSilent(t)
			url := wsURL(silent.addr())
			if useHTTP {
				url = "http://" + silent.addr() + "/v1/opamp"
			}
			h := newHarness(url)
			h.HTTP = useHTTP
			var calls atomic.Int64
			h.HeaderFunc = func(ctx context.Context, _ string, hd http.Header) http.Header {
				calls.Add(1)
				<-ctx.Done()
				return hd
			}
			c := h.start(t)
			require.Eventually(t, func() bool { return calls.Load() > 0 }, waitFor, tick)
			stopTimed(t, c, stopCase{timeout: 2 * time.Second, bound: 0, wantErr: false})
		})
	}
}

// answerThenHang answers the first HTTP poll and hangs every later
// request until the test ends: a server that was reached and then went
// dark.
func answerThenHang(t *testing.T) string {
	quit := make(chan struct{})
	var polls atomic.Int64
	var handlers sync.WaitGroup
	body, err := proto.Marshal(&protobufs.ServerToAgent{})
	require.NoError(t, err)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		if polls.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(body)
			return
		}
		select {
		case <-quit:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(quit)
		hs.Close()
		handlers.Wait()
	})
	return "http://" + hs.Listener.Addr().String() + "/v1/opamp"
}

// TestStopHTTPGoodbye: over HTTP the goodbye goes out only when the last
// poll was answered. A server never reached costs Stop nothing; one that
// answered and then went dark costs at most the stop bound.
func TestStopHTTPGoodbye(t *testing.T) {
	t.Parallel()
	t.Run("never reached", func(t *testing.T) {
		t.Parallel()
		silent := startSilent(t)
		h := newHarness("http://" + silent.addr() + "/v1/opamp")
		h.HTTP = true
		c := h.start(t)
		require.Eventually(t, func() bool { return silent.accepted.Load() > 0 }, waitFor, tick)
		stopTimed(t, c, stopCase{bound: 0})
		assert.NotEmpty(t, h.logs.FilterMessageSnippet("Not sending AgentDisconnect").All())
	})
	for _, sc := range stopCases {
		t.Run("went dark/"+sc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(answerThenHang(t))
			h.HTTP = true
			h.PollingInterval = 50 * time.Millisecond
			c := h.start(t)
			require.Eventually(t, c.Connected, waitFor, tick)
			time.Sleep(200 * time.Millisecond) // the next poll hangs
			stopTimed(t, c, sc)
			assert.Empty(t, h.logs.FilterMessageSnippet("Not sending AgentDisconnect").All(), "a goodbye was tried")
		})
	}
}

// TestStopReturnsCtxError: a context cancelled (not timed out) ends Stop
// at once with its error.
func TestStopReturnsCtxError(t *testing.T) {
	t.Parallel()
	deaf, url := startUpgradeServer(t, true)
	c := newHarness(url).start(t)
	require.Eventually(t, func() bool { return len(deaf.times()) == 1 }, waitFor, tick)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Stop(ctx)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}
