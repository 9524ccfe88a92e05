package faultproxy

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// answerWait bounds a wait for an answer that must come; silenceWait is how
// long a test listens for an answer that must not come.
const (
	answerWait  = 5 * time.Second
	silenceWait = 300 * time.Millisecond
)

// TestDelay: each direction gets the added latency, chunks stay in order,
// and removing the delay restores plain forwarding.
func TestDelay(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration
	}{
		{name: "none", delay: 0},
		{name: "150ms", delay: 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBackend(t, "a")
			p := Start(t, b.addr())
			p.Delay(tt.delay)
			c := dial(t, p)

			start := time.Now()
			got, err := c.ask("ping", answerWait)
			require.NoError(t, err)
			assert.Equal(t, "a:ping", got)
			assert.GreaterOrEqual(t, time.Since(start), 2*tt.delay, "one delay per direction")

			// Several lines in one go come back whole and in order.
			for i := range 5 {
				_, err := c.c.Write(fmt.Appendf(nil, "m%d\n", i))
				require.NoError(t, err)
			}
			for i := range 5 {
				got, err := c.readLine(answerWait)
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("a:m%d", i), got)
			}
			if tt.delay == 0 {
				assert.Zero(t, p.Stats().DelayedChunks)
			} else {
				assert.GreaterOrEqual(t, p.Stats().DelayedChunks, int64(2))
			}
		})
	}
}

// TestBlackhole: while on, open and new connections stay open but nothing
// gets through; when it ends, the connections that lost bytes are cut and
// an idle one goes on.
func TestBlackhole(t *testing.T) {
	b := startBackend(t, "a")
	p := Start(t, b.addr())
	idle, talker := dial(t, p), dial(t, p)
	for _, c := range []*client{idle, talker} {
		got, err := c.ask("hi", answerWait)
		require.NoError(t, err)
		require.Equal(t, "a:hi", got)
	}

	p.Blackhole(true)
	_, err := talker.ask("lost", silenceWait)
	assert.True(t, isTimeout(err), "an open connection must hang, got %v", err)
	fresh := dial(t, p)
	_, err = fresh.ask("lost too", silenceWait)
	assert.True(t, isTimeout(err), "a new connection must hang, got %v", err)
	st := p.Stats()
	assert.Equal(t, 1, st.Blackholed)
	require.Eventually(t, func() bool { return p.Stats().DroppedBytes >= int64(len("lost\nlost too\n")) }, answerWait, 5*time.Millisecond)

	p.Blackhole(false)
	for name, c := range map[string]*client{"talker": talker, "fresh": fresh} {
		_, err := c.readLine(answerWait)
		assert.False(t, isTimeout(err), "%s: a connection with a hole must be cut, got %v", name, err)
		assert.Error(t, err, name)
	}
	assert.Equal(t, 3, p.Stats().HoleCuts, "talker's two sides and fresh's one")
	got, err := idle.ask("still here", answerWait)
	require.NoError(t, err)
	assert.Equal(t, "a:still here", got)
	got, err = dial(t, p).ask("new", answerWait)
	require.NoError(t, err)
	assert.Equal(t, "a:new", got)
	assert.Zero(t, p.Cuts(), "blackhole cuts are not CutAll cuts")
}

// TestRefuse: new connections are closed at once, open ones keep working,
// and turning it off accepts again.
func TestRefuse(t *testing.T) {
	b := startBackend(t, "a")
	p := Start(t, b.addr())
	open := dial(t, p)
	_, err := open.ask("hi", answerWait)
	require.NoError(t, err)

	p.Refuse(true)
	_, err = dial(t, p).ask("hello?", answerWait)
	require.Error(t, err)
	assert.False(t, isTimeout(err), "a refused connection must be closed, not left hanging: %v", err)
	got, err := open.ask("still", answerWait)
	require.NoError(t, err)
	assert.Equal(t, "a:still", got)

	p.Refuse(false)
	got, err = dial(t, p).ask("again", answerWait)
	require.NoError(t, err)
	assert.Equal(t, "a:again", got)
	st := p.Stats()
	assert.Equal(t, 1, st.Refused)
	assert.Equal(t, 3, st.Accepted)
	assert.Equal(t, 2, st.Forwarded)
	assert.Len(t, p.Accepts(), 3)
}

// TestRetarget: new connections reach the new backend, open ones stay on
// the old, and CutAll then moves everyone.
func TestRetarget(t *testing.T) {
	a, b := startBackend(t, "a"), startBackend(t, "b")
	p := Start(t, a.addr())
	old := dial(t, p)
	_, err := old.ask("x", answerWait)
	require.NoError(t, err)

	assert.Equal(t, a.addr(), p.Retarget(b.addr()))
	assert.Equal(t, b.addr(), p.Retarget(b.addr()), "same target again")
	assert.Equal(t, 1, p.Stats().Retargets)

	got, err := old.ask("old", answerWait)
	require.NoError(t, err)
	assert.Equal(t, "a:old", got)
	got, err = dial(t, p).ask("new", answerWait)
	require.NoError(t, err)
	assert.Equal(t, "b:new", got)

	assert.Equal(t, 4, p.CutAll())
	_, err = old.readLine(answerWait)
	assert.Error(t, err)
	assert.False(t, isTimeout(err))
}

// TestDialFailure: a backend that is down closes the client connection.
func TestDialFailure(t *testing.T) {
	// Port 1 on loopback: nothing listens there. (A freed ephemeral port
	// can be taken at once by another package's test running alongside.)
	p := Start(t, "127.0.0.1:1")
	_, err := dial(t, p).ask("anyone?", answerWait)
	require.Error(t, err)
	assert.False(t, isTimeout(err))
	require.Eventually(t, func() bool { return p.Stats().DialFailed == 1 }, answerWait, 5*time.Millisecond)
	assert.Zero(t, p.Stats().Forwarded)
}
